import Foundation
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
    /// Fewer: each cluster is ten times larger.
    static let largeSeeds: [UInt64] = Array(1...4)

    /// Up to 400 hosts with continuous sizes and 3,000 VMs of a dozen shapes, a third of
    /// them also moving network traffic: the searches meet the same demand over and over, which is what lets the
    /// index reuse what it learnt, and the cluster overflows so every tier and rejection is exercised.
    static func repetitiveCluster(seed: UInt64) -> (hosts: [HostSnapshot], vms: [VMRequest]) {
        var random = SeededRandom(seed: seed)
        let states: [HostState] = [.active, .active, .active, .waking, .sleeping, .sleeping, .failed]
        let hosts = (0..<(200 + random.below(200))).map { index in
            let cores = [8.0, 16, 32][random.below(3)] + random.unit()
            let capacity = Fixtures.vector(
                cores: cores,
                gib: cores * (3 + 2 * random.unit()),
                rxGbit: 1 + 9 * random.unit(),
                txGbit: 1 + 9 * random.unit()
            )
            // Every host carries a little load, so no two have the same remaining-capacity key: the reference has
            // no rounding tolerance and would break such ties differently.
            let loaded = random.below(3) == 0
            let load = ResourceFractions(uniform: (loaded ? 0.5 : 0.01) * random.unit())
            return HostSnapshot(
                id: "h\(index)",
                capacity: capacity,
                state: states[random.below(states.count)],
                estimatedUse: capacity.scaled(by: load),
                powerModel: randomPowerModel(&random)
            )
        }
        let shapes = (0..<12).map { _ in
            (cores: [1.0, 2, 4, 8][random.below(4)], gib: [1.0, 2, 4, 8, 16, 32][random.below(6)])
        }
        let vms = (0..<3000).map { index in
            let shape = shapes[random.below(shapes.count)]
            let networked = random.below(3) == 0
            return Fixtures.vm(
                "v\(index)",
                cores: shape.cores,
                gib: shape.gib,
                rxGbit: networked ? 0.5 * random.unit() : 0,
                txGbit: networked ? 0.5 * random.unit() : 0
            )
        }
        return (hosts, vms)
    }

    /// No model, a measured linear one, or a SPECpower-style table with a random convex or concave bend.
    static func randomPowerModel(_ random: inout SeededRandom) -> HostPowerModel? {
        switch random.below(3) {
        case 0:
            return nil
        case 1:
            let idle = 50 + 100 * random.unit()
            return try! .linear(idleWatts: idle, maxWatts: idle + 50 + 200 * random.unit())
        default:
            let idle = 50 + 100 * random.unit()
            let span = 50 + 200 * random.unit()
            let bend = 0.5 + 1.5 * random.unit()
            return try! .specPower((0...10).map { idle + span * pow(Double($0) / 10, bend) })
        }
    }

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
    func powerAware(seed: UInt64) {
        let (hosts, vms) = Self.randomCluster(seed: seed)
        var random = SeededRandom(seed: seed)
        let modelled = hosts.map { host in
            var host = host
            host.powerModel = Self.randomPowerModel(&random)
            return host
        }
        let plan = PowerAwarePlacement().place(vms, on: ClusterSnapshot(hosts: modelled))
        let expected = ReferencePlacement.powerAware(
            vms,
            on: modelled,
            dimensions: Set(ResourceDimension.allCases),
            defaultModel: .defaultLinear
        )
        #expect(plan.placements == expected.placements)
        #expect(Set(plan.unplaced.map(\.vmID)) == Set(expected.unplaced))
        #expect(!expected.unplaced.isEmpty)
    }

    @Test(arguments: largeSeeds, VectorNorm.allCases)
    func repeatedShapes(seed: UInt64, norm: VectorNorm) {
        let (hosts, vms) = Self.repetitiveCluster(seed: seed)
        let snapshot = ClusterSnapshot(hosts: hosts)

        let firstFit = ReferencePlacement.firstFit(vms, on: hosts, norm: norm)
        let firstFitPlan = FirstFit(loadNorm: norm).place(vms, on: snapshot)
        #expect(firstFitPlan.placements == firstFit.placements)
        #expect(firstFitPlan.unplaced.map(\.vmID) == firstFit.unplaced)
        #expect(!firstFit.unplaced.isEmpty)

        let bestFit = ReferencePlacement.bestFitDecreasing(vms, on: hosts, norm: norm)
        let bestFitPlan = BestFitDecreasing(norm: norm).place(vms, on: snapshot)
        #expect(bestFitPlan.placements == bestFit.placements)
        #expect(Set(bestFitPlan.unplaced.map(\.vmID)) == Set(bestFit.unplaced))
    }

    @Test(arguments: largeSeeds)
    func repeatedShapesRoundRobinAndPowerAware(seed: UInt64) {
        let (hosts, vms) = Self.repetitiveCluster(seed: seed)
        let snapshot = ClusterSnapshot(hosts: hosts)

        let start = Int(seed) * 7 % hosts.count
        let (roundRobin, cursor) = ReferencePlacement.roundRobin(vms, on: hosts, startIndex: start)
        let roundRobinPlan = RoundRobin(startIndex: start).place(vms, on: snapshot)
        #expect(roundRobinPlan.placements == roundRobin.placements)
        #expect(roundRobinPlan.unplaced.map(\.vmID) == roundRobin.unplaced)
        #expect(roundRobinPlan.nextStartIndex == cursor)

        for dimensions: Set<ResourceDimension> in [Set(ResourceDimension.allCases), [.cpu]] {
            let expected = ReferencePlacement.powerAware(
                vms,
                on: hosts,
                dimensions: dimensions,
                defaultModel: .defaultLinear
            )
            let plan = PowerAwarePlacement(dimensions: dimensions).place(vms, on: snapshot)
            #expect(plan.placements == expected.placements, "\(dimensions)")
            #expect(Set(plan.unplaced.map(\.vmID)) == Set(expected.unplaced), "\(dimensions)")
            #expect(!expected.unplaced.isEmpty)
        }
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
