import Placement
import Testing

struct RoundRobinTests {
    static let threeHosts = ClusterSnapshot(hosts: (0..<3).map { Fixtures.host("h\($0)", cores: 8) })

    @Test(
        "the cursor starts at startIndex, wraps, and comes back in the plan",
        arguments: [
            (start: 0, placements: ["a→h0", "b→h1"], next: 2),
            (start: 1, placements: ["a→h1", "b→h2"], next: 0),
            (start: 2, placements: ["a→h2", "b→h0"], next: 1),
            (start: 5, placements: ["a→h2", "b→h0"], next: 1),
            (start: -1, placements: ["a→h2", "b→h0"], next: 1),
        ]
    )
    func cursor(start: Int, placements: [String], next: Int) {
        let vms = [Fixtures.vm("a", cores: 1), Fixtures.vm("b", cores: 1)]
        let plan = RoundRobin(startIndex: start).place(vms, on: Self.threeHosts)
        #expect(plan.placements == placements)
        #expect(plan.nextStartIndex == next)
    }

    @Test func advancedPolicyContinuesWhereThePlanStopped() {
        var policy = RoundRobin()
        var placements: [String] = []
        for round in 0..<4 {
            let plan = policy.place([Fixtures.vm("v\(round)", cores: 1)], on: Self.threeHosts)
            placements += plan.placements
            policy = policy.advanced(past: plan)
        }
        #expect(placements == ["v0→h0", "v1→h1", "v2→h2", "v3→h0"])
        #expect(policy.startIndex == 1)
    }

    @Test func aPlanWithNothingPlacedKeepsTheCursor() {
        let plan = RoundRobin(startIndex: 2).place([Fixtures.vm("big", cores: 100)], on: Self.threeHosts)
        #expect(plan.placements == [])
        #expect(plan.nextStartIndex == 2)
        #expect(RoundRobin(startIndex: 2).advanced(past: plan).startIndex == 2)
    }

    @Test func fullAndFailedHostsAreSkipped() {
        let hosts = [
            Fixtures.host("h0", cores: 8),
            Fixtures.host("h1", cores: 8, state: .failed),
            Fixtures.host("h2", cores: 8, used: Fixtures.vector(cores: 8)),
            Fixtures.host("h3", cores: 8),
        ]
        let plan = RoundRobin(startIndex: 1).place(
            [Fixtures.vm("a", cores: 1), Fixtures.vm("b", cores: 1), Fixtures.vm("c", cores: 1)],
            on: ClusterSnapshot(hosts: hosts)
        )
        #expect(plan.placements == ["a→h3", "b→h0", "c→h3"])
        #expect(plan.nextStartIndex == 0)
    }

    @Test func hostsKeepSnapshotOrderWhateverTheirLoad() {
        let hosts = [
            Fixtures.host("h0", cores: 8),
            Fixtures.host("h1", cores: 8, used: Fixtures.vector(cores: 6)),
        ]
        let plan = RoundRobin().place([Fixtures.vm("a", cores: 1)], on: ClusterSnapshot(hosts: hosts))
        #expect(plan.placements == ["a→h0"])
    }
}
