import Placement
import Testing
import Wire

@testable import Manager

@Suite struct PlacementLoadPlannerTests {
    static let capacity = ResourceVector(
        cpuCores: 8,
        memoryBytes: 64e9,
        networkRxBytesPerSecond: 125e6,
        networkTxBytesPerSecond: 125e6
    )

    static func vm(_ id: String, on host: String, cores: Double, movable: Bool = true) -> PlanningVM {
        let demand = ResourceVector(cpuCores: cores, memoryBytes: 256e6)
        return PlanningVM(
            id: id,
            name: "vm-\(id)",
            hostID: host,
            requested: demand,
            estimated: demand,
            memoryBytes: 256e6,
            movable: movable
        )
    }

    static func snapshot(_ vms: [PlanningVM], hosts: [String], migrating: Set<String> = []) -> PlanningSnapshot {
        var use: [String: ResourceVector] = [:]
        for vm in vms { use[vm.hostID, default: .zero] += vm.estimated }
        return PlanningSnapshot(
            cluster: ClusterSnapshot(
                hosts: hosts.map { id in
                    HostSnapshot(
                        id: id,
                        capacity: capacity,
                        state: .active,
                        estimatedUse: use[id] ?? .zero,
                        vmIDs: vms.filter { $0.hostID == id }.map(\.id)
                    )
                }
            ),
            vms: vms,
            migratingHosts: migrating
        )
    }

    /// Before the fix, an underloaded host was "emptied" onto an empty host, which then was underloaded in turn:
    /// the VM went back and forth on every refresh.
    @Test func anUnderloadedHostIsNeverEmptiedOntoAnEmptyHost() {
        let planner = PlacementLoadPlanner(configuration: ManagerConfiguration())
        let plan = planner.relocation(Self.snapshot([Self.vm("a", on: "h1", cores: 1)], hosts: ["h1", "h2"]))
        #expect(plan.moves.isEmpty, "\(plan)")
        #expect(plan.hostsFreed.isEmpty)
        #expect(plan.reason?.contains("h1") == true, "\(String(describing: plan.reason))")
    }

    @Test func anUnderloadedHostIsEmptiedOntoOneThatCarriesLoad() {
        let planner = PlacementLoadPlanner(configuration: ManagerConfiguration())
        let plan = planner.relocation(
            Self.snapshot(
                [Self.vm("a", on: "h1", cores: 1), Self.vm("b", on: "h2", cores: 3), Self.vm("c", on: "h2", cores: 1)],
                hosts: ["h1", "h2", "h3"]
            )
        )
        #expect(plan.moves.map(\.vmName) == ["vm-a"], "\(plan)")
        #expect(plan.moves.first?.toHost == "h2")
        #expect(plan.moves.first?.memoryBytes == 256e6)
        #expect(plan.hostsFreed == ["h1"])
        #expect(plan.reason == nil)
    }

    @Test func anOverloadedHostMayBeRelievedOntoAnEmptyOne() {
        let planner = PlacementLoadPlanner(configuration: ManagerConfiguration())
        let plan = planner.relocation(
            Self.snapshot([Self.vm("a", on: "h1", cores: 4), Self.vm("b", on: "h1", cores: 4)], hosts: ["h1", "h2"])
        )
        #expect(plan.moves.count == 1, "\(plan)")
        #expect(plan.moves.first?.fromHost == "h1" && plan.moves.first?.toHost == "h2")
    }

    @Test func immovableVMsAndBusyHostsAreLeftAlone() {
        let planner = PlacementLoadPlanner(configuration: ManagerConfiguration())
        // h3 holds a suspended VM: never emptied. h2 has a migration under way: neither source nor destination.
        let snapshot = Self.snapshot(
            [
                Self.vm("a", on: "h1", cores: 2), Self.vm("b", on: "h2", cores: 2),
                Self.vm("c", on: "h3", cores: 2, movable: false), Self.vm("d", on: "h4", cores: 2),
            ],
            hosts: ["h1", "h2", "h3", "h4"],
            migrating: ["h2"]
        )
        let plan = planner.consolidation(snapshot)
        #expect(!plan.hostsFreed.contains("h3") && !plan.hostsFreed.contains("h2"), "\(plan)")
        #expect(plan.moves.allSatisfy { !["h2", "h3"].contains($0.fromHost) && $0.toHost != "h2" }, "\(plan)")
        #expect(plan.moves.allSatisfy { $0.vmName != "vm-c" })
        #expect(!plan.hostsFreed.isEmpty, "\(plan)")
    }

    @Test func aReplyHoldsAsManyMovesAsFitAndCountsThemAll() {
        let moves = (0..<40_000).map { index in
            LoadPlan.Move(
                vmID: "id-\(index)",
                vmName: "vm-\(index)",
                fromHost: "host-\(index % 5_000)",
                toHost: "host-\(index % 4_000)",
                memoryBytes: 4e9,
                costBytes: 4.5e9,
                costSeconds: 36
            )
        }
        let plan = LoadPlan(
            policy: "cost-aware",
            moves: moves,
            hostsFreed: ["host-4999"],
            hostsUsedBefore: 5_000,
            hostsUsedAfter: 4_000,
            hostsLowerBound: 3_900
        )
        let reply = ConsolidationLoop.reply(plan, policy: "cost-aware", started: false, reason: "")
        #expect(reply.moveCount == 40_000)
        #expect(reply.moves.count > 10_000 && reply.moves.count < 40_000, "\(reply.moves.count)")
        #expect(reply.moves.map(\.vm) == moves.prefix(reply.moves.count).map(\.vmName))
        let bytes = reply.moves.reduce(0) { $0 + ConsolidationReply.encodedSize(of: $1) }
        #expect(bytes <= ConsolidationLoop.replyMoveBudget)
        #expect(reply.costSeconds == 36 * 40_000)
        // Negative or unbounded estimates travel as 0 and saturate rather than trap.
        #expect(ConsolidationLoop.wholeBytes(-1) == 0 && ConsolidationLoop.wholeBytes(.nan) == 0)
        #expect(ConsolidationLoop.wholeBytes(.infinity) == 0 && ConsolidationLoop.wholeBytes(1e30) == .max)
    }
}
