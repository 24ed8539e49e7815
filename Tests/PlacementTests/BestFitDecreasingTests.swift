import Placement
import Testing

struct BestFitDecreasingTests {
    @Test func largestVMsFirstOntoTheTightestHost() {
        let hosts = [Fixtures.host("h0", cores: 8), Fixtures.host("h1", cores: 8, used: Fixtures.vector(cores: 4))]
        let vms = [Fixtures.vm("small", cores: 2), Fixtures.vm("large", cores: 6)]
        let plan = BestFitDecreasing().place(vms, on: ClusterSnapshot(hosts: hosts))
        // First fit in the given order would put "small" on h1 and then need h0 for "large"; BFD fits both on h0.
        #expect(plan.placements == ["large→h0", "small→h0"])
        #expect(FirstFit().place(vms, on: ClusterSnapshot(hosts: hosts)).placements == ["small→h1", "large→h0"])
        #expect(plan.nextStartIndex == nil)
    }

    @Test func picksTheFeasibleHostWithLeastRemaining() {
        let hosts = [
            Fixtures.host("h0", cores: 8),
            Fixtures.host("h1", cores: 8, used: Fixtures.vector(cores: 5)),
            Fixtures.host("h2", cores: 8, used: Fixtures.vector(cores: 2)),
        ]
        let plan = BestFitDecreasing().place(
            [Fixtures.vm("a", cores: 5), Fixtures.vm("b", cores: 2)],
            on: ClusterSnapshot(hosts: hosts)
        )
        // a: h1 has 3 free (too few), h2 has 6, h0 has 8 → h2. b: h2 now has 1, h1 has 3 → h1.
        #expect(plan.placements == ["a→h2", "b→h1"])
    }

    @Test(
        "remaining capacity is measured by the chosen norm",
        arguments: [
            (norm: VectorNorm.l1, host: "h1"),
            (norm: VectorNorm.euclid, host: "h0"),
            (norm: VectorNorm.max, host: "h0"),
        ]
    )
    func remainingNorm(norm: VectorNorm, host: String) {
        // Free: h0 50 % CPU and 50 % memory; h1 70 % CPU and 20 % memory; no network capacity. L1: 1.0 vs 0.9,
        // Euclid: 0.71 vs 0.73, Max: 0.5 vs 0.7.
        let hosts = [
            Fixtures.host("h0", cores: 10, gib: 10, used: Fixtures.vector(cores: 5, gib: 5), networkGbit: 0),
            Fixtures.host("h1", cores: 10, gib: 10, used: Fixtures.vector(cores: 3, gib: 8), networkGbit: 0),
        ]
        let plan = BestFitDecreasing(norm: norm).place(
            [Fixtures.vm("a", cores: 0, gib: 0)],
            on: ClusterSnapshot(hosts: hosts)
        )
        #expect(plan.placements == ["a→\(host)"])
    }

    @Test func vmSizeIsNormalisedSoBytesDoNotDominate() {
        // 7 of 8 cores with 1 GiB is the larger VM, although 2 GiB is more bytes.
        let hosts = [Fixtures.host("h0", cores: 8, gib: 64)]
        let vms = [Fixtures.vm("memory-heavier", cores: 1, gib: 2), Fixtures.vm("cpu-heavy", cores: 7, gib: 1)]
        let plan = BestFitDecreasing().place(vms, on: ClusterSnapshot(hosts: hosts))
        #expect(plan.placements == ["cpu-heavy→h0", "memory-heavier→h0"])
    }

    @Test func wakesTheSleeperItAlreadyWokeBeforeAnother() {
        let hosts = [
            Fixtures.host("h0", cores: 8, state: .sleeping),
            Fixtures.host("h1", cores: 8, state: .sleeping),
        ]
        let vms = [Fixtures.vm("a", cores: 4), Fixtures.vm("b", cores: 4), Fixtures.vm("c", cores: 4)]
        let plan = BestFitDecreasing().place(vms, on: ClusterSnapshot(hosts: hosts))
        #expect(plan.placements == ["a→h0!", "b→h0!", "c→h1!"])
        #expect(plan.hostsToWake == ["h0", "h1"])
    }
}
