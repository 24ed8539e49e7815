import Placement
import Testing

/// The simulator plans VM by VM through `PowerAwarePlacement.leastPowerIncrease`; for one VM on active hosts it
/// must choose what the manager's batch `PowerAwarePlacement` chooses on the same snapshot.
struct PowerAwareRuleTests {
    static let g4 = try! HostPowerModel.specPower([86, 89.4, 92.6, 96, 99.5, 102, 106, 108, 112, 114, 117])
    static let g5 = try! HostPowerModel.specPower([93.7, 97, 101, 105, 110, 116, 121, 125, 129, 133, 135])

    @Test(
        "one VM: the per-VM rule and the batch policy pick the same host",
        arguments: [0.1, 0.25, 0.4, 0.7, 1.0, 1.3]
    )
    func sameHostAsTheBatchPolicy(cores: Double) {
        // Six active hosts of two types at various loads (cores used of 2).
        let used = [1.2, 0.5, 1.5, 0.9, 0.2, 1.1]
        let hosts = used.enumerated().map { index, use in
            HostSnapshot(
                id: "h\(index)",
                capacity: ResourceVector(cpuCores: 2, memoryBytes: 1e9),
                estimatedUse: ResourceVector(cpuCores: use),
                powerModel: index % 2 == 0 ? Self.g4 : Self.g5
            )
        }
        let vm = VMRequest(id: "vm", requested: ResourceVector(cpuCores: cores))
        let batch = PowerAwarePlacement(dimensions: [.cpu]).place([vm], on: ClusterSnapshot(hosts: hosts))
        let single = PowerAwarePlacement.leastPowerIncrease(
            hosts: hosts.indices,
            model: { hosts[$0].powerModel! },
            plannedUtilization: { hosts[$0].estimatedUse.cpuCores / 2 },
            share: { host in hosts[host].estimatedUse.cpuCores + cores <= 2 ? cores / 2 : nil },
            accepts: { _ in true }
        )
        #expect(single != nil)
        #expect(batch.assignments.first?.hostIndex == single)
    }
}
