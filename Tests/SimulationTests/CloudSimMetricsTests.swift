import Placement
import Simulation
import Testing

/// The CloudSim profile's metrics on two hosts, three VMs and three intervals, worked out by hand below.
struct CloudSimMetricsTests {
    /// Two hosts of 2 × 1000 MIPS drawing 100 W idle + 100 W at full load (linear); VMs of 1000 MIPS and 30 MB,
    /// migrating at 1 MB/s (half of a 2 MB/s link): 30 s each.
    static func scenario() throws -> Scenario {
        let host = Scenario.HostType(
            name: "test",
            cores: 2,
            mipsPerCore: 1000,
            memoryBytes: 4e9,
            bandwidthBytesPerSecond: 2e6,
            power: try PowerTable(watts: (0...10).map { 100 + 10 * Double($0) })
        )
        return try Scenario(
            profile: .cloudsim,
            intervalSeconds: 300,
            hostTypes: [host],
            hosts: [0, 0],
            vmTypes: [Scenario.VMType(mips: 1000, memoryBytes: 30e6)]
        )
    }

    /// A: 50 50 80 %, B: 20 20 50 %, C: 10 70 100 %; THR with a threshold of 1 (overloaded only past 100 %).
    @Test func twoHostsThreeVMsThreeIntervals() throws {
        let workload = try Workload(
            stepCount: 3,
            traces: [("a", [50, 50, 80]), ("b", [20, 20, 50]), ("c", [10, 70, 100])]
        )
        let result = Simulator(scenario: try Self.scenario(), workload: workload, policy: .thrMMT(1)).run()

        // Initial placement at full MIPS, every host measured at 0 %: A → h0 (+50 W, the first of equals); B: h0
        // would be at 100 % (not > 1, but +100 W), h1 +50 W → h1; C: h0 and h1 both +100 W → h0.
        // Interval 0 (no migration): h0 = A + C = 600 MIPS (30 %, 130 W) → at interval 1's demand 1200 (160 W):
        // 145 W × 300 s = 43,500 J; h1 = B = 200 (10 %, 110 W) both ends: 33,000 J.
        // Interval 1: h0 1200 (60 %), h1 200 (10 %); nothing overloaded; h1 is the least utilised: B → h0
        // (+10 W, 70 %). h0 received, so it is not evacuated. h0 at 70 % (170 W) → 2300 at interval 2 (capped:
        // 200 W): 185 W × 300 s = 55,500 J; h1 empty: 0 J. h1 was active for the 30 s of B's migration.
        // Interval 2: h0 2300 of 2000 MIPS: overloaded. MMT takes A (all VMs have the same memory; A is first),
        // h0 falls to 1500 (75 %). A (800) → h1, off: +40 W (140 − 100), the only host left. h0 measured at
        // 100 % is no candidate for evacuation. h0 violates for A's 30 s, then 75 % (175 W): 52,500 J; h1 at
        // 40 % (140 W): 42,000 J.
        let joules = 43_500.0 + 33_000 + 55_500 + 52_500 + 42_000
        #expect(abs(result.energyKWh - joules / 3_600_000) < 1e-12)
        #expect(result.migrations == 2)
        #expect(result.intervals.map(\.migrations) == [0, 1, 1])
        #expect(result.intervals.map(\.hostsOn) == [2, 1, 2])

        // Active: 600 s + (300 + 30) s + (30 + 270 + 300) s; violating: h0's 30 s before A left.
        #expect(abs(result.slatah - 30.0 / 1530) < 1e-12)
        // Lost: 10 % of B's 200 MIPS and of A's 800 MIPS for 30 s each; requested: (800 + 1400 + 2300) × 300.
        let pdm = (0.1 * 200 * 30 + 0.1 * 800 * 30) / ((800.0 + 1400 + 2300) * 300)
        #expect(abs(result.pdm - pdm) < 1e-12)
        #expect(abs(result.slav - 30.0 / 1530 * pdm) < 1e-15)
        #expect(abs(result.esv - joules / 3_600_000 * 30.0 / 1530 * pdm) < 1e-15)
    }

    @Test func withoutMigrationNothingMovesAndIdleHostsDrawNothing() throws {
        let workload = try Workload(stepCount: 2, traces: [("a", [50, 0]), ("b", [0, 0]), ("c", [0, 0])])
        let result = Simulator(scenario: try Self.scenario(), workload: workload, policy: .dvfs).run()
        // First fit at full MIPS: A and B fill h0, C goes to h1. Only h0 has demand, and only in interval 0:
        // 125 W at 25 %, then 100 W at 0 % at its end: 112.5 W × 300 s; interval 1 starts at 0 %: off.
        #expect(result.migrations == 0)
        #expect(abs(result.energyKWh - 112.5 * 300 / 3_600_000) < 1e-12)
        #expect(result.intervals.map(\.hostsOn) == [1, 0])
        #expect(result.pdm == 0)
    }
}
