import Placement
import Testing

/// Snooze's placement rules, checked against every policy: one row per situation, with the placements each policy
/// must produce ("vm→host", "!" where the host is woken) and the exact reasons for what stays unplaced.
struct PolicyRulesTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var hosts: [HostSnapshot]
        var vms: [VMRequest]
        var fillLimit = ResourceFractions.one
        var placements: [PolicyKind: [String]]
        var reasons: [String] = []
        var tightestDimensions: [ResourceDimension?] = []

        var testDescription: String { name }

        /// The same placements expected of every policy.
        static func same(_ placements: [String]) -> [PolicyKind: [String]] {
            Dictionary(uniqueKeysWithValues: PolicyKind.allCases.map { ($0, placements) })
        }
    }

    static let cases: [Case] = [
        Case(
            name: "room for every VM",
            hosts: [Fixtures.host("h0", cores: 8), Fixtures.host("h1", cores: 8)],
            vms: [Fixtures.vm("a", cores: 2), Fixtures.vm("b", cores: 2), Fixtures.vm("c", cores: 2)],
            placements: [
                .firstFit: ["a→h0", "b→h0", "c→h0"],
                .roundRobin: ["a→h0", "b→h1", "c→h0"],
                .bestFitDecreasing: ["a→h0", "b→h0", "c→h0"],
                // Equal hosts grow equally; the first one wins the tie.
                .powerAware: ["a→h0", "b→h0", "c→h0"],
            ]
        ),
        Case(
            name: "MID caps CPU at half the cores",
            hosts: [Fixtures.host("h0", cores: 8)],
            vms: [Fixtures.vm("a", cores: 3), Fixtures.vm("b", cores: 1), Fixtures.vm("c", cores: 1)],
            fillLimit: ResourceFractions(cpu: 0.5, memory: 1, networkRx: 1, networkTx: 1),
            placements: Case.same(["a→h0", "b→h0"]),
            reasons: ["c: no host has 1 free core; most free: h0 with 0"],
            tightestDimensions: [.cpu]
        ),
        Case(
            name: "MID caps memory at a quarter",
            hosts: [Fixtures.host("h0", cores: 8, gib: 32)],
            vms: [Fixtures.vm("a", cores: 1, gib: 6), Fixtures.vm("b", cores: 1, gib: 4)],
            fillLimit: ResourceFractions(cpu: 1, memory: 0.25, networkRx: 1, networkTx: 1),
            placements: Case.same(["a→h0"]),
            reasons: ["b: no host has 4 GiB of free memory; most free: h0 with 2 GiB"],
            tightestDimensions: [.memory]
        ),
        Case(
            name: "sleeping hosts only after active ones, and marked for wake",
            hosts: [
                Fixtures.host("h0", cores: 16, state: .sleeping),
                Fixtures.host("h1", cores: 4),
                Fixtures.host("h2", cores: 16, state: .sleeping),
            ],
            vms: [Fixtures.vm("a", cores: 4), Fixtures.vm("b", cores: 4), Fixtures.vm("c", cores: 4)],
            placements: [
                .firstFit: ["a→h1", "b→h0!", "c→h0!"],
                // Round robin spreads over sleepers too: the cursor moved past h0.
                .roundRobin: ["a→h1", "b→h2!", "c→h0!"],
                .bestFitDecreasing: ["a→h1", "b→h0!", "c→h0!"],
                // Once woken for b, h0 costs only its growth; waking h2 would cost its idle power too.
                .powerAware: ["a→h1", "b→h0!", "c→h0!"],
            ]
        ),
        Case(
            name: "waking hosts come before sleeping ones and need no second wake",
            hosts: [
                Fixtures.host("h0", cores: 8, state: .sleeping),
                Fixtures.host("h1", cores: 8, state: .waking),
                Fixtures.host("h2", cores: 8, used: Fixtures.vector(cores: 8)),
            ],
            vms: [Fixtures.vm("a", cores: 2), Fixtures.vm("b", cores: 2)],
            placements: Case.same(["a→h1", "b→h1"])
        ),
        Case(
            name: "failed hosts are never used",
            hosts: [Fixtures.host("h0", cores: 64, state: .failed), Fixtures.host("h1", cores: 2)],
            vms: [Fixtures.vm("a", cores: 2), Fixtures.vm("b", cores: 2)],
            placements: Case.same(["a→h1"]),
            reasons: ["b: no host has 2 free cores; most free: h1 with 0"],
            tightestDimensions: [.cpu]
        ),
        Case(
            name: "VMs placed earlier in the plan take their capacity",
            hosts: [Fixtures.host("h0", cores: 4), Fixtures.host("h1", cores: 4)],
            vms: [Fixtures.vm("a", cores: 3), Fixtures.vm("b", cores: 3), Fixtures.vm("c", cores: 3)],
            placements: Case.same(["a→h0", "b→h1"]),
            reasons: ["c: no host has 3 free cores; most free: h0 with 1"],
            tightestDimensions: [.cpu]
        ),
        Case(
            name: "every host failed",
            hosts: [Fixtures.host("h0", cores: 8, state: .failed), Fixtures.host("h1", cores: 8, state: .failed)],
            vms: [Fixtures.vm("a", cores: 1)],
            placements: Case.same([]),
            reasons: ["a: no usable host: all 2 failed"],
            tightestDimensions: [nil]
        ),
        Case(
            name: "no hosts at all",
            hosts: [],
            vms: [Fixtures.vm("a", cores: 1)],
            placements: Case.same([]),
            reasons: ["a: no hosts in the snapshot"],
            tightestDimensions: [nil]
        ),
        Case(
            name: "a negative demand is rejected, not charged",
            hosts: [Fixtures.host("h0", cores: 4)],
            vms: [Fixtures.vm("a", cores: -1), Fixtures.vm("b", cores: 4)],
            placements: Case.same(["b→h0"]),
            reasons: ["a: invalid demand: every component must be finite and not negative"],
            tightestDimensions: [nil]
        ),
        Case(
            name: "the dimension covered least names the shortage",
            hosts: [Fixtures.host("h0", cores: 8, gib: 8, used: Fixtures.vector(cores: 6, gib: 4))],
            vms: [Fixtures.vm("a", cores: 4, gib: 16)],
            placements: Case.same([]),
            reasons: ["a: no host has 16 GiB of free memory; most free: h0 with 4 GiB"],
            tightestDimensions: [.memory]
        ),
        Case(
            name: "enough of each resource somewhere, but not on one host",
            hosts: [
                Fixtures.host("h0", cores: 4, gib: 4, used: Fixtures.vector(gib: 3)),
                Fixtures.host("h1", cores: 4, gib: 8, used: Fixtures.vector(cores: 3)),
            ],
            vms: [Fixtures.vm("a", cores: 2, gib: 4)],
            placements: Case.same([]),
            reasons: ["a: no host has 2 free cores alongside the rest of the demand; closest: h1 with 1"],
            tightestDimensions: [.cpu]
        ),
        Case(
            name: "fractional cores keep two decimals",
            hosts: [
                Fixtures.host("h0", cores: 1),
                Fixtures.host("h1", cores: 2, used: Fixtures.vector(cores: 0.75)),
            ],
            vms: [Fixtures.vm("a", cores: 1.5)],
            placements: Case.same([]),
            reasons: ["a: no host has 1.5 free cores; most free: h1 with 1.25"],
            tightestDimensions: [.cpu]
        ),
        Case(
            name: "memory below a GiB is shown in MiB",
            hosts: [Fixtures.host("h0", cores: 8, gib: 2, used: Fixtures.vector(gib: 1.5))],
            vms: [Fixtures.vm("a", cores: 1, gib: 1.5)],
            placements: Case.same([]),
            reasons: ["a: no host has 1.5 GiB of free memory; most free: h0 with 512 MiB"],
            tightestDimensions: [.memory]
        ),
        Case(
            name: "receive bandwidth in Gbit/s",
            hosts: [Fixtures.host("h0", cores: 8, used: Fixtures.vector(rxGbit: 8))],
            vms: [Fixtures.vm("a", cores: 1, rxGbit: 4)],
            placements: Case.same([]),
            reasons: ["a: no host has 4 Gbit/s of free receive bandwidth; most free: h0 with 2 Gbit/s"],
            tightestDimensions: [.networkRx]
        ),
        Case(
            name: "transmit bandwidth in Mbit/s",
            hosts: [Fixtures.host("h0", cores: 8, used: Fixtures.vector(txGbit: 0.75), networkGbit: 1)],
            vms: [Fixtures.vm("a", cores: 1, txGbit: 0.5)],
            placements: Case.same([]),
            reasons: ["a: no host has 500 Mbit/s of free transmit bandwidth; most free: h0 with 250 Mbit/s"],
            tightestDimensions: [.networkTx]
        ),
    ]

    @Test(arguments: cases, PolicyKind.allCases)
    func rule(_ rule: Case, policy: PolicyKind) {
        let plan = policy.make(fillLimit: rule.fillLimit).place(rule.vms, on: ClusterSnapshot(hosts: rule.hosts))
        #expect(plan.placements == rule.placements[policy])
        #expect(plan.reasons == rule.reasons)
        #expect(plan.unplaced.map(\.tightestDimension) == rule.tightestDimensions)
        #expect(plan.assignments.allSatisfy { rule.hosts[$0.hostIndex].id == $0.hostID })
        #expect(plan.nextStartIndex == nil || policy == .roundRobin)
    }

    @Test(arguments: PolicyKind.allCases)
    func hostsToWakeListsEachSleeperOnce(policy: PolicyKind) {
        let hosts = [Fixtures.host("h0", cores: 8, state: .sleeping), Fixtures.host("h1", cores: 8, state: .sleeping)]
        let vms = (0..<4).map { Fixtures.vm("v\($0)", cores: 2) }
        let plan = policy.make().place(vms, on: ClusterSnapshot(hosts: hosts))
        let expected: [PolicyKind: [String]] = [
            .firstFit: ["h0"],
            .roundRobin: ["h0", "h1"],
            .bestFitDecreasing: ["h0"],
            .powerAware: ["h0"],
        ]
        #expect(plan.hostsToWake == expected[policy])
        #expect(plan.assignments.count == 4)
        #expect(plan.assignments.map(\.wakesHost) == [true, true, true, true])
    }

    @Test(arguments: PolicyKind.allCases)
    func packingDensityLetsMoreVMsIn(policy: PolicyKind) {
        let hosts = [Fixtures.host("h0", cores: 4)]
        let requested = Fixtures.vector(cores: 4, gib: 8)
        let dense = Estimator(packingDensity: ResourceFractions(cpu: 0.5, memory: 1, networkRx: 1, networkTx: 1))
        let overcommitted = ["a", "b", "c"].map { dense.request(id: $0, requested: requested, samples: []) }
        let plan = policy.make().place(overcommitted, on: ClusterSnapshot(hosts: hosts))
        #expect(plan.placements == ["a→h0", "b→h0"])
        #expect(plan.reasons == ["c: no host has 2 free cores; most free: h0 with 0"])

        let asRequested = ["a", "b"].map { Estimator().request(id: $0, requested: requested, samples: []) }
        let strictPlan = policy.make().place(asRequested, on: ClusterSnapshot(hosts: hosts))
        #expect(strictPlan.placements == ["a→h0"])
        #expect(strictPlan.reasons == ["b: no host has 4 free cores; most free: h0 with 0"])
    }

    @Test(arguments: PolicyKind.allCases)
    func manySmallSharesFillAHostExactly(policy: PolicyKind) {
        // Ten tenths of a core must fit in one core despite rounding in repeated subtraction.
        let vms = (0..<11).map { Fixtures.vm("v\($0)", cores: 0.1, gib: 0) }
        let plan = policy.make().place(vms, on: ClusterSnapshot(hosts: [Fixtures.host("h0", cores: 1)]))
        #expect(plan.assignments.count == 10)
        #expect(plan.reasons == ["v10: no host has 0.1 free cores; most free: h0 with 0"])
    }
}
