import Placement
import Testing

@testable import Simulation

/// The simulator and the manager decide alike: each builds its own snapshot of the same cluster (the simulator
/// from its arrays, in thousands of MIPS; the manager as its planning snapshot builder does, in cores, from
/// 15-second samples through the estimator) and both call `ClusterLoadPlanner`, the one shared decision function.
struct SameDecisionTests {
    /// Four hosts of 2 × 2500 MIPS (4 GB); VMs of 2500 MIPS / 1 GB (vm0–vm2) and 1250 MIPS / 0.5 GB (vm3–vm5).
    static func scenario() throws -> Scenario {
        let host = Scenario.HostType(
            name: "test",
            cores: 2,
            mipsPerCore: 2500,
            memoryBytes: 4e9,
            bandwidthBytesPerSecond: 125e6,
            power: try .specPower((0...10).map { 100 + 10 * Double($0) })
        )
        return try Scenario(
            profile: .cloudsim,
            intervalSeconds: 300,
            hostTypes: [host],
            hosts: [0, 0, 0, 0],
            vmTypes: [
                Scenario.VMType(mips: 2500, memoryBytes: 1e9), Scenario.VMType(mips: 1250, memoryBytes: 0.5e9),
            ]
        )
    }

    /// CPU % of each VM this interval, and its host: h0 overloaded (92.5 %), h1 underloaded (10 %), h2 at 55 %,
    /// h3 empty.
    static let utilization: [UInt8] = [95, 90, 20, 60, 60, 40]
    static let hostOfVM = [0, 0, 1, 2, 2, 2]

    /// The simulator's side: its cluster after the interval's demand is entered, as `TorporPlanner` snapshots it.
    static func simulatorSnapshot() throws -> ClusterSnapshot {
        let workload = try Workload(
            stepCount: 1,
            traces: utilization.enumerated().map { ("vm \($0.offset)", [$0.element]) }
        )
        var cluster = SimulatedCluster(scenario: try scenario(), vmCount: workload.vmCount)
        cluster.enter(step: 0, of: workload)
        for (vm, host) in hostOfVM.enumerated() { cluster.move(vm, to: host) }
        return cluster.snapshot()
    }

    /// The manager's side, built as its planning snapshot builder does: hosts and VMs as the store lists them
    /// (here in another order), sorted by id; each VM's estimate the mean of its newest 15 samples (15 s apart,
    /// scattered around the 5-minute mean the trace records); CPU in cores, memory capacity in bytes.
    /// `powerModel`: each host's, as the manager's configuration gives it (`hosts.power`), for power-aware placement.
    static func managerSnapshot(powerModel: HostPowerModel? = nil) -> ClusterSnapshot {
        let estimator = Estimator()
        let coresPerVM = [1.0, 1, 1, 0.5, 0.5, 0.5]
        let memoryPerVM = [1e9, 1e9, 1e9, 0.5e9, 0.5e9, 0.5e9]
        var vms: [VMSnapshot] = []
        var use: [String: ResourceVector] = [:]
        var onHost: [String: [String]] = [:]
        for vm in [4, 1, 5, 0, 3, 2] {
            let mean = Double(utilization[vm]) / 100 * coresPerVM[vm]
            // 15 samples: ±2 % of a core alternately, and the mean itself.
            let samples = (0..<15).map { index in
                ResourceVector(cpuCores: mean + (index == 14 ? 0 : (index.isMultiple(of: 2) ? 0.02 : -0.02)))
            }
            // The CloudSim profile's cluster: CPU is the only constraint, so a VM's memory is not charged to
            // its host, but a migration copies all of it.
            let requested = ResourceVector(cpuCores: coresPerVM[vm])
            let estimated = estimator.estimate(samples: samples, requested: requested)
            let id = SimulatedCluster.vmID(vm)
            let host = SimulatedCluster.hostID(hostOfVM[vm])
            vms.append(
                VMSnapshot(
                    id: id,
                    hostID: host,
                    requested: requested,
                    estimated: estimated,
                    memoryToCopyBytes: memoryPerVM[vm]
                )
            )
            use[host, default: .zero] += estimated
            onHost[host, default: []].append(id)
        }
        let hosts = [2, 0, 3, 1].map(SimulatedCluster.hostID).sorted().map { id in
            HostSnapshot(
                id: id,
                capacity: ResourceVector(cpuCores: 2, memoryBytes: 4e9),
                state: .active,
                estimatedUse: use[id] ?? .zero,
                vmIDs: (onHost[id] ?? []).sorted(),
                powerModel: powerModel
            )
        }
        return ClusterSnapshot(hosts: hosts, vms: vms.sorted { $0.id < $1.id })
    }

    /// The manager's policies as its configuration builds them: manager.yaml's defaults (thresholds 0.2 / 0.8 /
    /// 0.9, a 30-minute budget, first fit for destinations), the bandwidth set to 125 MB/s.
    static func managerPlanner(_ consolidation: TorporPolicy.Consolidation) -> ClusterLoadPlanner {
        let costModel = MigrationCostModel(bandwidthBytesPerSecond: 125e6)
        let budget = MigrationBudget(maximumSeconds: 1800)
        let policy: (any ConsolidationPolicy)? =
            switch consolidation {
            case .none: nil
            case .sercon: SerconConsolidation(costModel: costModel, budget: budget)
            case .costAware: CostAwareConsolidation(costModel: costModel, budget: budget)
            }
        return ClusterLoadPlanner(
            relocationPolicy: Relocation(costModel: costModel, placement: FirstFit()),
            consolidationPolicy: policy
        )
    }

    static func simulatorPlanner(_ consolidation: TorporPolicy.Consolidation) -> ClusterLoadPlanner {
        TorporPlanner(policy: TorporPolicy(consolidation: consolidation, bandwidthBytesPerSecond: 125e6)).planner
    }

    /// A move as both sides name it: VM, source, destination (costs are compared separately).
    static func described(_ moves: [MigrationMove]) -> [String] {
        moves.map { "\($0.vmID): \($0.fromHostID) → \($0.toHostID)" }
    }

    @Test func relocationPlansTheSameMoves() throws {
        let simulator = Self.simulatorPlanner(.costAware).relocation(try Self.simulatorSnapshot())
        let manager = Self.managerPlanner(.costAware).relocation(Self.managerSnapshot())
        // h0 (92.5 %) cannot be relieved onto h2 (55 % + 47.5 % > MID 80 %), so the empty h3 takes a VM (vm0 and
        // vm1 each suffice at the same cost: the first); h1's only VM goes to h2, not to the empty host.
        #expect(
            Self.described(simulator.moves) == [
                "vm-000000: host-000000 → host-000003", "vm-000002: host-000001 → host-000002",
            ]
        )
        #expect(Self.described(simulator.moves) == Self.described(manager.moves))
        #expect(simulator.moves.map(\.cost) == manager.moves.map(\.cost))
        #expect(simulator.overloadedHostIDs == manager.overloadedHostIDs)
        #expect(simulator.emptiedHostIDs == manager.emptiedHostIDs)
        #expect(simulator.emptiedHostIDs == ["host-000001"])
    }

    /// `placement_policy: power-aware`: the manager's relocation picks destinations with `PowerAwarePlacement`, and
    /// so does the simulator's, each host priced by its own power table.
    @Test func relocationWithPowerAwareDestinationsPlansTheSameMoves() throws {
        let model = try Self.scenario().hostTypes[0].power
        let simulator = TorporPlanner(
            policy: TorporPolicy(consolidation: .costAware, bandwidthBytesPerSecond: 125e6),
            placement: .powerAware
        ).planner.relocation(try Self.simulatorSnapshot())
        let costModel = MigrationCostModel(bandwidthBytesPerSecond: 125e6)
        let manager = ClusterLoadPlanner(
            relocationPolicy: Relocation(costModel: costModel, placement: PowerAwarePlacement()),
            consolidationPolicy: nil
        ).relocation(Self.managerSnapshot(powerModel: model))
        #expect(!simulator.moves.isEmpty)
        #expect(Self.described(simulator.moves) == Self.described(manager.moves))
        #expect(simulator.moves.map(\.cost) == manager.moves.map(\.cost))
        #expect(simulator.emptiedHostIDs == manager.emptiedHostIDs)
    }

    @Test(arguments: [TorporPolicy.Consolidation.costAware, .sercon])
    func consolidationPlansTheSameMoves(_ consolidation: TorporPolicy.Consolidation) throws {
        let simulator = try #require(Self.simulatorPlanner(consolidation).consolidation(try Self.simulatorSnapshot()))
        let manager = try #require(Self.managerPlanner(consolidation).consolidation(Self.managerSnapshot()))
        #expect(!simulator.moves.isEmpty, "\(simulator.reason)")
        #expect(Self.described(simulator.moves) == Self.described(manager.moves))
        #expect(simulator.freedHostIDs == manager.freedHostIDs)
        #expect(simulator.totalCost == manager.totalCost)
        #expect(simulator.hostsUsedAfter == manager.hostsUsedAfter)
    }

    @Test func withoutConsolidationThereIsNoConsolidationPlan() throws {
        #expect(Self.simulatorPlanner(.none).consolidation(try Self.simulatorSnapshot()) == nil)
    }
}
