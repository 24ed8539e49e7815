import Placement
import Testing

/// The consolidation policies on the same tables: expected moves ("vm:from→to"), freed hosts and reason. The
/// cost-aware policy's `.leastMigrationTime` objective and its variant with spare hosts (a quarter more, so none on
/// these small tables) expect what its default does unless a case says otherwise.
struct ConsolidationTests {
    typealias M = MoveFixtures

    enum Policy: String, CaseIterable, Sendable, CustomStringConvertible {
        case sercon
        case costAware
        case costAwareLeastTime
        case costAwareSpareHosts

        var description: String { rawValue }

        func make(budget: MigrationBudget = .unlimited) -> any ConsolidationPolicy {
            switch self {
            case .sercon: SerconConsolidation(budget: budget)
            case .costAware: CostAwareConsolidation(budget: budget)
            case .costAwareLeastTime:
                {
                    var policy = CostAwareConsolidation(budget: budget)
                    policy.objective = .leastMigrationTime
                    return policy
                }()
            case .costAwareSpareHosts:
                {
                    var policy = CostAwareConsolidation(budget: budget)
                    policy.spareHostShare = 0.25
                    return policy
                }()
            }
        }
    }

    struct Expected: Sendable {
        var moves: [String]
        var freed: [String]
        var reason: String
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var hosts: [MoveFixtures.Host]
        var busy: Set<String> = []
        var budget = MigrationBudget.unlimited
        var expected: [Policy: Expected]

        var testDescription: String { name }

        static func same(_ expected: Expected) -> [Policy: Expected] {
            Dictionary(uniqueKeysWithValues: Policy.allCases.map { ($0, expected) })
        }
    }

    static let lighterFreed = Expected(
        moves: ["b:h1→h0", "c:h1→h0"],
        freed: ["h1"],
        reason: "frees 1 host with 2 migrations (3 GiB, 25.77 s); 1 host used, lower bound 1"
    )
    static let oneVMMoved = Expected(
        moves: ["a:h0→h1"],
        freed: ["h0"],
        reason: "frees 1 host with 1 migration (4 GiB, 34.36 s); 1 host used, lower bound 1"
    )

    static let cases: [Case] = [
        Case(
            name: "Sercon frees the lighter host, the cost-aware policy the one with fewer VMs unless saving time",
            hosts: [
                M.host("h0", [M.vm("a", cores: 6, gib: 8)]),
                M.host("h1", [M.vm("b", cores: 2, gib: 2), M.vm("c", cores: 1, gib: 1)]),
            ],
            expected: [
                .sercon: lighterFreed,
                .costAware: Expected(
                    moves: ["a:h0→h1"],
                    freed: ["h0"],
                    reason: "frees 1 host with 1 migration (8 GiB, 68.72 s); 1 host used, lower bound 1"
                ),
                .costAwareLeastTime: lighterFreed,
            ]
        ),
        Case(
            name: "never plan onto a sleeping, waking, failed or busy host",
            hosts: [
                M.host("h0", [M.vm("a", cores: 2)]),
                M.host("h1", cores: 64, state: .sleeping),
                M.host("h2", cores: 64, state: .waking),
                M.host("h3", cores: 64, state: .failed),
                M.host("h4", cores: 64, [M.vm("x", cores: 1)]),
            ],
            busy: ["h4"],
            expected: Case.same(
                Expected(
                    moves: [],
                    freed: [],
                    reason: "nothing to consolidate: 1 active host with VMs can take part in moves; 1 other is busy "
                        + "(a migration in or out, or no live migration on the host)"
                )
            )
        ),
        Case(
            name: "hosts with VMs that cannot migrate are named busy, not counted as none",
            hosts: [
                M.host("h0", [M.vm("a", cores: 1)]),
                M.host("h1", [M.vm("b", cores: 1)]),
                M.host("h2"),
            ],
            busy: ["h0", "h1"],
            expected: Case.same(
                Expected(
                    moves: [],
                    freed: [],
                    reason: "nothing to consolidate: 0 active hosts with VMs can take part in moves; 2 others are "
                        + "busy (a migration in or out, or no live migration on the host)"
                )
            )
        ),
        Case(
            name: "a host with a migration in or out is neither emptied nor filled",
            hosts: [
                M.host("h0", [M.vm("a", cores: 1)]),
                M.host("h1", [M.vm("b", cores: 4)]),
                M.host("h2", [M.vm("c", cores: 1)]),
            ],
            busy: ["h0"],
            expected: Case.same(
                Expected(
                    moves: ["c:h2→h1"],
                    freed: ["h2"],
                    reason: "frees 1 host with 1 migration (1 GiB, 8.59 s); 2 hosts used, lower bound 1"
                )
            )
        ),
        Case(
            name: "no plan that frees no host: neither fits on the other within MID",
            hosts: [
                M.host("h0", [M.vm("a", cores: 7), M.vm("b", cores: 3)]),
                M.host("h1", [M.vm("c", cores: 9)]),
            ],
            expected: [
                .sercon: Expected(
                    moves: [],
                    freed: [],
                    reason: "no host can be freed: the VMs of each do not all fit on the more loaded hosts within MID"
                ),
                .costAware: Expected(
                    moves: [],
                    freed: [],
                    reason: "no host can be freed: the load needs every host it is on within MID"
                ),
            ]
        ),
        Case(
            name: "all or nothing per host: one of two VMs would fit",
            hosts: [
                M.host("h0", [M.vm("a", cores: 9)]),
                M.host("h1", [M.vm("b", cores: 2), M.vm("c", cores: 2)]),
                M.host("h2", [M.vm("d", cores: 11)]),
            ],
            expected: [
                .sercon: Expected(
                    moves: [],
                    freed: [],
                    reason: "no host can be freed: the VMs of each do not all fit on the more loaded hosts within MID"
                ),
                .costAware: Expected(
                    moves: [],
                    freed: [],
                    reason: "no host can be freed: the load needs every host it is on within MID"
                ),
            ]
        ),
        Case(
            name: "budget exceeded: no plan",
            hosts: [
                M.host("h0", [M.vm("a", cores: 6, gib: 8)]),
                M.host("h1", [M.vm("b", cores: 2, gib: 2), M.vm("c", cores: 1, gib: 1)]),
            ],
            budget: MigrationBudget(maximumBytes: 2 * M.gibibyte),
            expected: [
                .sercon: Expected(
                    moves: [],
                    freed: [],
                    reason: "over budget: freeing 1 host takes 2 migrations costing 3 GiB, 25.77 s, the budget is 2 GiB"
                ),
                .costAware: Expected(
                    moves: [],
                    freed: [],
                    reason: "over budget: emptying the cheapest host costs more than 2 GiB"
                ),
            ]
        ),
        Case(
            name: "a VM that would not converge stays; Sercon moves it anyway",
            hosts: [
                M.host("h0", [M.vm("hot", cores: 2, gib: 4, dirtyMBps: 200)]),
                M.host("h1", [M.vm("b", cores: 3), M.vm("c", cores: 3)]),
            ],
            expected: [
                .sercon: Expected(
                    moves: ["hot:h0→h1"],
                    freed: ["h0"],
                    reason: "frees 1 host with 1 migration (124 GiB, 1065.15 s, not converging); 1 host used, "
                        + "lower bound 1"
                ),
                .costAware: Expected(
                    moves: ["b:h1→h0", "c:h1→h0"],
                    freed: ["h1"],
                    reason: "frees 1 host with 2 migrations (2 GiB, 17.18 s); 1 host used, lower bound 1"
                ),
            ]
        ),
        Case(
            name: "hosts of one size: the one with more VMs is kept, so fewer VMs move",
            hosts: [
                M.host("h0", [M.vm("a", cores: 2, gib: 4)]),
                M.host("h1", [M.vm("b", cores: 1), M.vm("c", cores: 1), M.vm("d", cores: 1)]),
            ],
            expected: [
                .sercon: oneVMMoved,
                .costAware: oneVMMoved,
                .costAwareLeastTime: Expected(
                    moves: ["b:h1→h0", "c:h1→h0", "d:h1→h0"],
                    freed: ["h1"],
                    reason: "frees 1 host with 3 migrations (3 GiB, 25.77 s); 1 host used, lower bound 1"
                ),
            ]
        ),
        Case(
            name: "hosts of nearly one size: the slightly smaller one with more VMs is kept when it can carry the load",
            hosts: [
                M.host("h0", [M.vm("a", cores: 2, gib: 4)]),
                M.host("h1", gib: 63, [M.vm("b", cores: 1), M.vm("c", cores: 1), M.vm("d", cores: 1)]),
            ],
            expected: [
                .sercon: oneVMMoved,
                .costAware: oneVMMoved,
                .costAwareLeastTime: Expected(
                    moves: ["b:h1→h0", "c:h1→h0", "d:h1→h0"],
                    freed: ["h1"],
                    reason: "frees 1 host with 3 migrations (3 GiB, 25.77 s); 1 host used, lower bound 1"
                ),
            ]
        ),
        Case(
            name: "equal load: the cost-aware policy empties the host cheaper to move",
            hosts: [
                M.host("h0", [M.vm("a", cores: 2, gib: 2), M.vm("b", cores: 2, gib: 2)]),
                M.host("h1", [M.vm("c", cores: 2, gib: 2, dirtyMBps: 60), M.vm("d", cores: 2, gib: 2, dirtyMBps: 60)]),
            ],
            expected: [
                .sercon: Expected(
                    moves: ["c:h1→h0", "d:h1→h0"],
                    freed: ["h1"],
                    reason: "frees 1 host with 2 migrations (7.65 GiB, 65.69 s); 1 host used, lower bound 1"
                ),
                .costAware: Expected(
                    moves: ["a:h0→h1", "b:h0→h1"],
                    freed: ["h0"],
                    reason: "frees 1 host with 2 migrations (4 GiB, 34.36 s); 1 host used, lower bound 1"
                ),
            ]
        ),
    ]

    @Test(arguments: cases, Policy.allCases)
    func consolidation(_ row: Case, policy: Policy) throws {
        let plan = policy.make(budget: row.budget).plan(M.snapshot(row.hosts, busy: row.busy))
        let expected = try #require(row.expected[policy] ?? row.expected[.costAware])
        #expect(M.spelled(plan.moves) == expected.moves)
        #expect(plan.freedHostIDs == expected.freed)
        #expect(plan.reason == expected.reason)
        #expect(plan.isEmpty == expected.freed.isEmpty)
    }

    @Test("the cost-aware policy stops emptying hosts where the budget ends")
    func budgetTrimsCostAwarePlan() {
        // Three light hosts onto one large one: each costs 2 GiB to empty, the budget pays for two.
        let hosts = [
            M.host("big", cores: 64, gib: 256, [M.vm("x", cores: 8)]),
            M.host("h1", [M.vm("a", cores: 1, gib: 2)]),
            M.host("h2", [M.vm("b", cores: 1, gib: 2)]),
            M.host("h3", [M.vm("c", cores: 1, gib: 2)]),
        ]
        let plan = CostAwareConsolidation(budget: MigrationBudget(maximumBytes: 5 * M.gibibyte))
            .plan(M.snapshot(hosts))
        #expect(plan.freedHostIDs == ["h1", "h2"])
        #expect(plan.totalCost.bytes == 4 * M.gibibyte)
        #expect(plan.hostsUsedBefore == 4 && plan.hostsUsedAfter == 2 && plan.hostsUsedLowerBound == 1)
    }

    @Test("spare hosts: the cost-aware policy keeps the unkept host with the most VMs, so fewer VMs move")
    func spareHostsKeepTheHostWithTheMostVMs() {
        // 20 cores of load need two 16-core hosts within MID (12.8 cores each): h2 and h1, with the most VMs.
        let hosts = [
            M.host("h0", [M.vm("a", cores: 8)]),
            M.host("h1", [M.vm("b", cores: 6), M.vm("c", cores: 1)]),
            M.host("h2", [M.vm("d", cores: 1), M.vm("e", cores: 1), M.vm("f", cores: 1), M.vm("g", cores: 1)]),
            M.host("h3", [M.vm("h", cores: 0.5), M.vm("i", cores: 0.5)]),
        ]
        let tight = CostAwareConsolidation().plan(M.snapshot(hosts))
        #expect(M.spelled(tight.moves) == ["a:h0→h2", "h:h3→h2", "i:h3→h1"])
        #expect(tight.freedHostIDs == ["h0", "h3"] && tight.hostsUsedAfter == 2)

        // Half as many again: one spare host, h3 (two VMs) rather than h0 (one).
        var spare = CostAwareConsolidation()
        spare.spareHostShare = 0.5
        let roomy = spare.plan(M.snapshot(hosts))
        #expect(M.spelled(roomy.moves) == ["a:h0→h2"])
        #expect(roomy.freedHostIDs == ["h0"] && roomy.hostsUsedAfter == 3)

        // A share too small for one whole host changes nothing.
        spare.spareHostShare = 0.4
        #expect(spare.plan(M.snapshot(hosts)) == tight)
    }

    @Test("random clusters: plans keep every rule and are deterministic", arguments: Policy.allCases)
    func randomClusters(policy: Policy) {
        var random = SeededRandom(seed: 2026)
        let mid = RelocationThresholds.default.mid
        for round in 0..<30 {
            let snapshot = RandomCluster.make(hosts: 40, vms: 20 + round * 5, random: &random)
            let budget = round % 3 == 0 ? MigrationBudget(maximumSeconds: 200) : .unlimited
            let plan = policy.make(budget: budget).plan(snapshot)
            #expect(plan == policy.make(budget: budget).plan(snapshot))
            #expect(budget.allows(plan.totalCost))
            #expect(plan.freedHostIDs.isEmpty == plan.moves.isEmpty)

            var use = snapshot.hosts.map(\.estimatedUse)
            let vmsByID = Dictionary(uniqueKeysWithValues: snapshot.vms.map { ($0.id, $0) })
            var moved = Set<String>()
            for move in plan.moves {
                let source = snapshot.hosts[move.fromHostIndex]
                let destination = snapshot.hosts[move.toHostIndex]
                #expect(source.state == .active && destination.state == .active)
                #expect(!snapshot.busyHostIDs.contains(source.id) && !snapshot.busyHostIDs.contains(destination.id))
                #expect(vmsByID[move.vmID]?.hostID == source.id)
                #expect(moved.insert(move.vmID).inserted)
                use[move.toHostIndex] += vmsByID[move.vmID]!.estimated
                use[move.fromHostIndex] -= vmsByID[move.vmID]!.estimated
            }
            for hostIndex in Set(plan.moves.map(\.toHostIndex)) {
                let limit = snapshot.hosts[hostIndex].capacity.scaled(by: mid).scaled(by: 1 + 1e-9)
                #expect(use[hostIndex].isComponentwiseLessThanOrEqual(to: limit))
            }
            // A freed host lost every VM, and no freed host received one.
            let freed = Set(plan.freedHostIDs)
            for host in snapshot.hosts where freed.contains(host.id) {
                #expect(host.vmIDs.allSatisfy { moved.contains($0) })
                #expect(!plan.moves.contains { $0.toHostID == host.id })
            }
            if let bound = plan.hostsUsedLowerBound {
                #expect(plan.hostsUsedAfter >= bound)
            }
            #expect(plan.hostsUsedAfter == plan.hostsUsedBefore - plan.freedHostIDs.count)
        }
    }
}
