import Placement
import Testing

struct FirstFitTests {
    @Test func packsTheMostLoadedHostFirst() {
        let hosts = [
            Fixtures.host("h0", cores: 8),
            Fixtures.host("h1", cores: 8, used: Fixtures.vector(cores: 6)),
            Fixtures.host("h2", cores: 8, used: Fixtures.vector(cores: 2)),
        ]
        let vms = [Fixtures.vm("a", cores: 1), Fixtures.vm("b", cores: 3), Fixtures.vm("c", cores: 1)]
        let plan = FirstFit().place(vms, on: ClusterSnapshot(hosts: hosts))
        // h1 (75 % loaded) first, then h2 (25 %), then the empty h0; the order is fixed at the start of the plan.
        #expect(plan.placements == ["a→h1", "b→h2", "c→h1"])
        #expect(plan.nextStartIndex == nil)
    }

    @Test(
        "load is measured on normalised vectors by the chosen norm",
        arguments: [
            (norm: VectorNorm.l1, host: "h1"),
            (norm: VectorNorm.max, host: "h0"),
        ]
    )
    func loadNorm(norm: VectorNorm, host: String) {
        // h0: 70 % CPU, 0 % memory. h1: 40 % CPU, 40 % memory. L1 says h1 is fuller, Max says h0.
        let hosts = [
            Fixtures.host("h0", cores: 10, gib: 10, used: Fixtures.vector(cores: 7)),
            Fixtures.host("h1", cores: 10, gib: 10, used: Fixtures.vector(cores: 4, gib: 4)),
        ]
        let plan = FirstFit(loadNorm: norm).place([Fixtures.vm("a", cores: 1)], on: ClusterSnapshot(hosts: hosts))
        #expect(plan.placements == ["a→\(host)"])
    }

    @Test func placesInTheOrderGiven() {
        let hosts = [Fixtures.host("h0", cores: 4)]
        let vms = [Fixtures.vm("small", cores: 1), Fixtures.vm("large", cores: 4)]
        let plan = FirstFit().place(vms, on: ClusterSnapshot(hosts: hosts))
        #expect(plan.placements == ["small→h0"])
        #expect(plan.reasons == ["large: no host has 4 free cores; most free: h0 with 3"])
    }
}
