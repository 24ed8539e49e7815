import Placement

/// PABFD's host choice (Beloglazov & Buyya) through the shared rule, `PowerAwarePlacement.leastPowerIncrease`:
/// among the hosts not excluded where the VM fits (CPU only: one core, and the host's MIPS left in the plan so far),
/// skipping those the overload detector would call overloaded with it, the one whose power grows least with it on
/// the plan so far; the first of equals.
///
/// `pricedFrom`: each host's utilisation measured at the interval's start, to price the increase from there as
/// CloudSim 3.0.3's code does (its power with the VM on the plan so far minus its measured power); nil for the
/// paper's rule (docs/sim.md has the figures of both).
extension SimulatedCluster {
    func powerAwareHost(
        for vm: Int,
        excluding excluded: [Bool],
        detector: OverloadDetector,
        scratch: inout [Double],
        pricedFrom measured: [Double]? = nil
    ) -> Int? {
        let need = demand[vm]
        return PowerAwarePlacement.leastPowerIncrease(
            hosts: 0..<hostCount,
            model: { hostPower[$0] },
            plannedUtilization: { load[$0] / hostCapacity[$0] },
            pricedFrom: measured.map { measured in { measured[$0] } },
            share: { host in
                guard !excluded[host], need <= hostCoreMips[host], hostCapacity[host] - load[host] >= need else {
                    return nil
                }
                return need / hostCapacity[host]
            },
            accepts: { host in load[host] == 0 || !isOverloaded(host, adding: vm, detector: detector, scratch: &scratch)
            }
        )
    }

    /// The detector's verdict on `host` as it is in the plan so far, with `adding` on it too when given.
    func isOverloaded(_ host: Int, adding vm: Int? = nil, detector: OverloadDetector, scratch: inout [Double]) -> Bool {
        let length = Self.historyLength
        var utilization = load[host] / hostCapacity[host]
        if case .staticThreshold(let threshold) = detector {
            if let vm { utilization += demand[vm] / hostCapacity[host] }
            return utilization > threshold
        }
        let scale = vm.map { vmMips[$0] / hostCapacity[host] } ?? 0
        for offset in 0..<length {
            var value = history[host * length + offset]
            if let vm { value += vmHistory[vm * length + offset] * scale }
            scratch[offset] = value
        }
        if let vm { utilization += demand[vm] / hostCapacity[host] }
        // LR predicts as far ahead as the longest migration off the host, in whole intervals.
        var longest = vm.map { vmMemory[$0] } ?? 0
        for other in hostVMs[host] { longest = max(longest, vmMemory[other]) }
        let migrationIntervals = (longest / (hostBandwidth[host] / 2) / intervalSeconds).rounded(.up)
        return scratch.withUnsafeBufferPointer { buffer in
            detector.isOverloaded(
                utilization: utilization,
                history: UnsafeBufferPointer(rebasing: buffer[0..<length]),
                migrationIntervals: migrationIntervals
            )
        }
    }

    /// CloudSim's PowerVmAllocationPolicySimple: the first host with a free core's worth and the MIPS.
    func firstFitHost(for vm: Int) -> Int? {
        let need = demand[vm]
        return (0..<hostCount).first { need <= hostCoreMips[$0] && hostCapacity[$0] - load[$0] >= need }
    }
}
