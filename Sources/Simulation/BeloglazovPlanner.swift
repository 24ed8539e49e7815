import Placement

/// One interval of Beloglazov & Buyya's dynamic consolidation, as CloudSim 3.0.3's
/// PowerVmAllocationPolicyMigrationAbstract.optimizeAllocation does it:
/// 1. hosts the detector finds overloaded shed VMs chosen by MMT until it no longer does;
/// 2. those VMs, largest demand first, go where PABFD puts them (never back onto an overloaded host);
/// 3. every other active host, least utilised first, is evacuated if all its VMs fit on active hosts that are
///    neither overloaded nor already evacuated, all or nothing; a host that received VMs is not evacuated.
///
/// CloudSim means to keep hosts that received VMs in step 2 out of step 3 but passes an empty list, which can
/// move the same VM twice in one interval; they are kept out unless `followsCloudSimCode`, which also prices PABFD's
/// hosts from their power measured at the interval's start (`Scenario.followsCloudSimCode`).
struct BeloglazovPlanner {
    var detector: OverloadDetector
    var followsCloudSimCode = false

    struct Migration: Hashable {
        var vm: Int
        var from: Int
        var to: Int
    }

    /// Plans and applies the interval's migrations to `cluster`: the migrations in the order decided, and how many
    /// hosts were overloaded.
    func plan(_ cluster: inout SimulatedCluster) -> (migrations: [Migration], overloaded: Int) {
        let hostCount = cluster.hostCount
        var scratch = Array(repeating: 0.0, count: SimulatedCluster.historyLength)
        // What CloudSim measured at the start of the interval: who is off, and the order of evacuation.
        let measured = (0..<hostCount).map { min(cluster.allocated($0) / cluster.hostCapacity[$0], 1) }
        let pricedFrom = followsCloudSimCode ? measured : nil

        let overloaded = (0..<hostCount).filter {
            !cluster.hostVMs[$0].isEmpty && cluster.isOverloaded($0, detector: detector, scratch: &scratch)
        }
        var isOverloaded = Array(repeating: false, count: hostCount)
        for host in overloaded { isOverloaded[host] = true }

        // 1. MMT off each overloaded host until the detector is satisfied.
        var shed: [(vm: Int, from: Int)] = []
        for host in overloaded {
            while let pick = MinimumMigrationTime.select(
                memoryBytes: cluster.hostVMs[host].map { cluster.vmMemory[$0] }
            ) {
                let vm = cluster.hostVMs[host][pick]
                cluster.hostVMs[host].remove(at: pick)
                cluster.vmHost[vm] = -1
                cluster.load[host] -= cluster.demand[vm]
                removeHistory(vm, from: host, in: &cluster)
                shed.append((vm, host))
                if !cluster.isOverloaded(host, detector: detector, scratch: &scratch) { break }
            }
        }

        // 2. Place them, largest first.
        var migrations: [Migration] = []
        var received = Array(repeating: false, count: hostCount)
        let shedOrder = shed.indices.sorted { lhs, rhs in
            let a = cluster.demand[shed[lhs].vm]
            let b = cluster.demand[shed[rhs].vm]
            return a > b || (a == b && lhs < rhs)
        }
        for index in shedOrder {
            let (vm, from) = shed[index]
            cluster.vmHost[vm] = -1
            if let target = cluster.powerAwareHost(
                for: vm,
                excluding: isOverloaded,
                detector: detector,
                scratch: &scratch,
                pricedFrom: pricedFrom
            ) {
                attach(vm, to: target, in: &cluster)
                received[target] = true
                migrations.append(Migration(vm: vm, from: from, to: target))
            } else {
                attach(vm, to: from, in: &cluster)
            }
        }

        // 3. Evacuate under-utilised hosts, least utilised first; only hosts that were on receive VMs.
        var excludedSource = isOverloaded
        var excludedTarget = isOverloaded
        for host in 0..<hostCount where measured[host] == 0 {
            excludedSource[host] = true
            excludedTarget[host] = true
        }
        if !followsCloudSimCode {
            for host in 0..<hostCount where received[host] { excludedSource[host] = true }
        }
        let candidates = (0..<hostCount).filter { measured[$0] > 0 && measured[$0] < 1 }
            .sorted { measured[$0] < measured[$1] || (measured[$0] == measured[$1] && $0 < $1) }
        for source in candidates where !excludedSource[source] {
            excludedSource[source] = true
            excludedTarget[source] = true
            let vms = cluster.hostVMs[source].enumerated().sorted { lhs, rhs in
                let a = cluster.demand[lhs.element]
                let b = cluster.demand[rhs.element]
                return a > b || (a == b && lhs.offset < rhs.offset)
            }.map(\.element)
            guard !vms.isEmpty else { continue }
            let originalOrder = cluster.hostVMs[source]
            var moved: [Migration] = []
            for vm in vms {
                guard
                    let target = cluster.powerAwareHost(
                        for: vm,
                        excluding: excludedTarget,
                        detector: detector,
                        scratch: &scratch,
                        pricedFrom: pricedFrom
                    )
                else { break }
                cluster.move(vm, to: target)
                moved.append(Migration(vm: vm, from: source, to: target))
            }
            if moved.count < vms.count {
                // All or nothing: put back what moved, in the host's original order.
                for migration in moved.reversed() { cluster.move(migration.vm, to: source) }
                cluster.hostVMs[source] = originalOrder
                continue
            }
            for migration in moved { excludedSource[migration.to] = true }
            migrations.append(contentsOf: moved)
        }
        return (migrations, overloaded.count)
    }

    private func attach(_ vm: Int, to host: Int, in cluster: inout SimulatedCluster) {
        cluster.vmHost[vm] = -1
        cluster.move(vm, to: host)
    }

    private func removeHistory(_ vm: Int, from host: Int, in cluster: inout SimulatedCluster) {
        let length = SimulatedCluster.historyLength
        let scale = cluster.vmMips[vm] / cluster.hostCapacity[host]
        for offset in 0..<length {
            cluster.history[host * length + offset] -= cluster.vmHistory[vm * length + offset] * scale
        }
        if cluster.hostVMs[host].isEmpty {
            cluster.load[host] = 0
            for offset in 0..<length { cluster.history[host * length + offset] = 0 }
        }
    }

}
