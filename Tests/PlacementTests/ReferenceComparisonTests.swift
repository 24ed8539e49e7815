import Placement
import Testing

/// The indexed policies against the plain reference implementations, on random clusters that overflow, so
/// placements, wakes and rejections are all exercised.
struct ReferenceComparisonTests {
    /// Up to 70 hosts in every state, continuous sizes (no exact fits, no ties), and more demand than capacity.
    static func randomCluster(seed: UInt64) -> (hosts: [HostSnapshot], vms: [VMRequest]) {
        var random = SeededRandom(seed: seed)
        let states: [HostState] = [.active, .active, .active, .waking, .sleeping, .sleeping, .failed]
        let hosts = (0..<(20 + random.below(50))).map { index in
            let capacity = Fixtures.vector(
                cores: 8 + 56 * random.unit(),
                gib: 32 + 224 * random.unit(),
                rxGbit: 1 + 9 * random.unit(),
                txGbit: 1 + 9 * random.unit()
            )
            let load = ResourceFractions(
                cpu: 0.6 * random.unit(),
                memory: 0.6 * random.unit(),
                networkRx: 0.3 * random.unit(),
                networkTx: 0.3 * random.unit()
            )
            return HostSnapshot(
                id: "h\(index)",
                capacity: capacity,
                state: states[random.below(states.count)],
                estimatedUse: capacity.scaled(by: load)
            )
        }
        let vms = (0..<(300 + random.below(300))).map { index in
            let networked = random.below(3) == 0
            return Fixtures.vm(
                "v\(index)",
                cores: 0.1 + 12 * random.unit(),
                gib: 0.25 + 40 * random.unit(),
                rxGbit: networked ? 2 * random.unit() : 0,
                txGbit: networked ? 2 * random.unit() : 0
            )
        }
        return (hosts, vms)
    }

    static let seeds: [UInt64] = Array(1...12)

    @Test(arguments: seeds, VectorNorm.allCases)
    func firstFit(seed: UInt64, norm: VectorNorm) {
        let (hosts, vms) = Self.randomCluster(seed: seed)
        let plan = FirstFit(loadNorm: norm).place(vms, on: ClusterSnapshot(hosts: hosts))
        let expected = ReferencePlacement.firstFit(vms, on: hosts, norm: norm)
        #expect(plan.placements == expected.placements)
        #expect(plan.unplaced.map(\.vmID) == expected.unplaced)
        #expect(!expected.unplaced.isEmpty)
    }

    @Test(arguments: seeds, VectorNorm.allCases)
    func bestFitDecreasing(seed: UInt64, norm: VectorNorm) {
        let (hosts, vms) = Self.randomCluster(seed: seed)
        let plan = BestFitDecreasing(norm: norm).place(vms, on: ClusterSnapshot(hosts: hosts))
        let expected = ReferencePlacement.bestFitDecreasing(vms, on: hosts, norm: norm)
        #expect(plan.placements == expected.placements)
        #expect(Set(plan.unplaced.map(\.vmID)) == Set(expected.unplaced))
        #expect(!expected.unplaced.isEmpty)
    }

    @Test(arguments: seeds)
    func roundRobin(seed: UInt64) {
        let (hosts, vms) = Self.randomCluster(seed: seed)
        let start = Int(seed) % hosts.count
        let plan = RoundRobin(startIndex: start).place(vms, on: ClusterSnapshot(hosts: hosts))
        let (expected, cursor) = ReferencePlacement.roundRobin(vms, on: hosts, startIndex: start)
        #expect(plan.placements == expected.placements)
        #expect(plan.unplaced.map(\.vmID) == expected.unplaced)
        #expect(plan.nextStartIndex == cursor)
    }

    @Test(arguments: seeds)
    func everyPlanRespectsCapacity(seed: UInt64) {
        let (hosts, vms) = Self.randomCluster(seed: seed)
        let demand = Dictionary(uniqueKeysWithValues: vms.map { ($0.id, $0.estimated) })
        for kind in PolicyKind.allCases {
            let plan = kind.make().place(vms, on: ClusterSnapshot(hosts: hosts))
            var use = hosts.map(\.estimatedUse)
            for assignment in plan.assignments {
                use[assignment.hostIndex] += demand[assignment.vmID] ?? .zero
            }
            let overfull = plan.assignments.map(\.hostIndex).filter {
                !use[$0].isComponentwiseLessThanOrEqual(to: hosts[$0].capacity)
            }
            #expect(overfull.isEmpty, "\(kind)")
            #expect(plan.assignments.allSatisfy { hosts[$0.hostIndex].state != .failed }, "\(kind)")
            #expect(plan.assignments.count + plan.unplaced.count == vms.count, "\(kind)")
        }
    }
}
