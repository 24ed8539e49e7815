import Placement
import Testing

/// Relocation on estimates: one row per situation with the moves expected ("vm:from→to") and the reasons.
struct RelocationTests {
    typealias M = MoveFixtures

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var hosts: [MoveFixtures.Host]
        var busy: Set<String> = []
        var thresholds = RelocationThresholds.default
        var moves: [String]
        var reasons: [String]
        var emptied: [String] = []
        /// h1 also runs 1 core that no VM snapshot accounts for.
        var unmovableOnH1 = false

        var testDescription: String { name }
    }

    static let halfMax = M.thresholds(minimum: 0.1, mid: 0.4, maximum: 0.5)

    static let cases: [Case] = [
        Case(
            name: "overload: the cheapest single VM that brings the host under MAX",
            hosts: [
                M.host(
                    "h0",
                    [
                        M.vm("a", cores: 8, gib: 16), M.vm("b", cores: 4, gib: 4), M.vm("c", cores: 2, gib: 2),
                        M.vm("d", cores: 2, gib: 8),
                    ]
                ),
                M.host("h1", [M.vm("x", cores: 8)]),
            ],
            moves: ["c:h0→h1"],
            reasons: ["h0 overloaded (cpu 100 % > MAX 90 %): moving 1 VM relieves it"]
        ),
        Case(
            name: "overload: fewest VMs before cheapest ones (two large rather than three small)",
            hosts: [
                M.host(
                    "h0",
                    [
                        M.vm("a", cores: 4, gib: 4), M.vm("b", cores: 4, gib: 8), M.vm("c", cores: 3),
                        M.vm("d", cores: 3), M.vm("e", cores: 2),
                    ]
                ),
                M.host("h1", cores: 32, [M.vm("x", cores: 4)]),
            ],
            thresholds: halfMax,
            moves: ["a:h0→h1", "b:h0→h1"],
            reasons: ["h0 overloaded (cpu 100 % > MAX 50 %): moving 2 VMs relieves it"]
        ),
        Case(
            name: "overload: among the fewest, the cheapest pair",
            hosts: [
                M.host(
                    "h0",
                    [
                        M.vm("a", cores: 5, gib: 16), M.vm("b", cores: 5, gib: 2), M.vm("c", cores: 3),
                        M.vm("d", cores: 3),
                    ]
                ),
                M.host("h1", cores: 32, [M.vm("x", cores: 4)]),
            ],
            thresholds: halfMax,
            moves: ["c:h0→h1", "b:h0→h1"],
            reasons: ["h0 overloaded (cpu 100 % > MAX 50 %): moving 2 VMs relieves it"]
        ),
        Case(
            name: "overload: the VM that dirties memory faster costs more than a larger quiet one",
            hosts: [
                M.host(
                    "h0",
                    [
                        M.vm("a", cores: 12, gib: 16), M.vm("hot", cores: 2, gib: 2, dirtyMBps: 80),
                        M.vm("quiet", cores: 2, gib: 4),
                    ]
                ),
                M.host("h1", [M.vm("x", cores: 4)]),
            ],
            moves: ["quiet:h0→h1"],
            reasons: ["h0 overloaded (cpu 100 % > MAX 90 %): moving 1 VM relieves it"]
        ),
        Case(
            name: "MID cap respected: the host that would pass MID is skipped",
            hosts: [
                M.host("h0", [M.vm("a", cores: 12, gib: 16), M.vm("b", cores: 4, gib: 2)]),
                M.host("h1", [M.vm("x", cores: 9)]),
                M.host("h2", [M.vm("y", cores: 8)]),
            ],
            moves: ["b:h0→h2"],
            reasons: ["h0 overloaded (cpu 100 % > MAX 90 %): moving 1 VM relieves it"]
        ),
        Case(
            name: "never plan onto a sleeping, waking, failed or busy host",
            hosts: [
                M.host("h0", [M.vm("a", cores: 12, gib: 16), M.vm("b", cores: 4, gib: 2)]),
                M.host("h1", cores: 64, state: .sleeping),
                M.host("h2", cores: 64, state: .failed),
                M.host("h3", cores: 64, state: .waking),
                M.host("h4", cores: 64, [M.vm("y", cores: 16)]),
                M.host("h5", [M.vm("z", cores: 6)]),
            ],
            busy: ["h4"],
            moves: ["b:h0→h5"],
            reasons: ["h0 overloaded (cpu 100 % > MAX 90 %): moving 1 VM relieves it"]
        ),
        Case(
            name: "no active destination: nothing moves, and the reason says so",
            hosts: [
                M.host("h0", [M.vm("a", cores: 12, gib: 16), M.vm("b", cores: 4, gib: 2)]),
                M.host("h1", cores: 64, state: .sleeping),
                M.host("h2", cores: 64, state: .failed),
            ],
            moves: [],
            reasons: ["h0 overloaded (cpu 100 % > MAX 90 %): no destination within MID for all 1 VM to move"]
        ),
        Case(
            name: "a busy overloaded host is left alone",
            hosts: [
                M.host("h0", [M.vm("a", cores: 12, gib: 16), M.vm("b", cores: 4, gib: 2)]),
                M.host("h1", [M.vm("x", cores: 4)]),
            ],
            busy: ["h0"],
            moves: [],
            reasons: ["h0 overloaded (cpu 100 % > MAX 90 %): left alone, a migration or power change is under way"]
        ),
        Case(
            name: "underload: all VMs move when all fit",
            hosts: [
                M.host("h0", [M.vm("a", cores: 1), M.vm("b", cores: 1)]),
                M.host("h1", [M.vm("x", cores: 10)]),
            ],
            moves: ["a:h0→h1", "b:h0→h1"],
            reasons: [
                "h0 underloaded (highest cpu 12.5 % < MIN 20 %): moving its 2 VMs empties it"
            ],
            emptied: ["h0"]
        ),
        Case(
            name: "all or nothing on underload: one VM would fit, so none moves",
            hosts: [
                M.host("h0", [M.vm("a", cores: 1), M.vm("b", cores: 1)]),
                M.host("h1", [M.vm("x", cores: 11)]),
            ],
            moves: [],
            reasons: [
                "h0 underloaded (highest cpu 12.5 % < MIN 20 %): no destination within MID for all 2 VMs to move"
            ]
        ),
        Case(
            name: "underload never empties onto sleeping or failed hosts",
            hosts: [
                M.host("h0", [M.vm("a", cores: 1)]),
                M.host("h1", cores: 64, state: .sleeping),
                M.host("h2", cores: 64, state: .failed),
            ],
            moves: [],
            reasons: [
                "h0 underloaded (highest cpu 6.25 % < MIN 20 %): no destination within MID for all 1 VM to move"
            ]
        ),
        Case(
            name: "a failing host's VMs are dropped and the rest planned again",
            hosts: [
                M.host("h0", [M.vm("a", cores: 1.5), M.vm("b", cores: 1.5)]),
                M.host("h1", [M.vm("c", cores: 1)]),
                M.host("h2", [M.vm("x", cores: 11)]),
            ],
            moves: ["c:h1→h2"],
            reasons: [
                "h0 underloaded (highest cpu 18.75 % < MIN 20 %): no destination within MID for all 2 VMs to move",
                "h1 underloaded (highest cpu 6.25 % < MIN 20 %): moving its 1 VM empties it",
            ],
            emptied: ["h1"]
        ),
        Case(
            name: "an underloaded host with load that cannot move is not emptied, and may take VMs",
            hosts: [
                M.host("h0", [M.vm("a", cores: 12, gib: 16), M.vm("b", cores: 4, gib: 2)]),
                M.host("h1", [M.vm("c", cores: 1)]),
            ],
            moves: ["b:h0→h1"],
            reasons: [
                "h1 underloaded (highest cpu 12.5 % < MIN 20 %): not emptied, part of its load cannot move",
                "h0 overloaded (cpu 100 % > MAX 90 %): moving 1 VM relieves it",
            ],
            unmovableOnH1: true
        ),
        Case(
            name: "an idle empty host and a host in the normal band are left alone",
            hosts: [M.host("h0"), M.host("h1", [M.vm("a", cores: 8)])],
            moves: [],
            reasons: []
        ),
    ]

    @Test(arguments: cases)
    func relocation(_ row: Case) {
        var snapshot = M.snapshot(row.hosts, busy: row.busy)
        if row.unmovableOnH1, let h1 = snapshot.hosts.firstIndex(where: { $0.id == "h1" }) {
            snapshot.hosts[h1].estimatedUse += Fixtures.vector(cores: 1)
        }
        let plan = Relocation(thresholds: row.thresholds).plan(snapshot)
        #expect(M.spelled(plan.moves) == row.moves)
        #expect(plan.reasons == row.reasons)
        #expect(plan.emptiedHostIDs == row.emptied)
    }

    @Test("every placement policy keeps destinations within MID and on active hosts", arguments: PolicyKind.allCases)
    func destinationsWithinMID(policy: PolicyKind) {
        var random = SeededRandom(seed: 12)
        let thresholds = RelocationThresholds.default
        for _ in 0..<20 {
            let snapshot = RandomCluster.make(hosts: 30, vms: 120, random: &random)
            let plan = Relocation(placement: policy.make()).plan(snapshot)
            var use = snapshot.hosts.map(\.estimatedUse)
            let estimates = Dictionary(uniqueKeysWithValues: snapshot.vms.map { ($0.id, $0.estimated) })
            for move in plan.moves {
                #expect(snapshot.hosts[move.toHostIndex].state == .active)
                #expect(!snapshot.busyHostIDs.contains(move.toHostID))
                use[move.toHostIndex] += estimates[move.vmID]!
            }
            for hostIndex in Set(plan.moves.map(\.toHostIndex)) {
                let limit = snapshot.hosts[hostIndex].capacity.scaled(by: thresholds.mid)
                #expect(use[hostIndex].isComponentwiseLessThanOrEqual(to: limit.scaled(by: 1 + 1e-9)))
            }
            #expect(plan == Relocation(placement: policy.make()).plan(snapshot))
        }
    }
}
