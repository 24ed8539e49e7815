import Placement
import Simulation
import Testing

/// The CloudSim profile's metrics on two hosts, three VMs and three intervals, worked out by hand below.
struct CloudSimMetricsTests {
    /// `hosts` hosts (two by default) of 2 × 1000 MIPS drawing 100 W idle + 100 W at full load (linear); VMs of
    /// 1000 MIPS and 30 MB, migrating at 1 MB/s (half of a 2 MB/s link): 30 s each.
    static func scenario(hosts: Int = 2, followsCloudSimCode: Bool = false) throws -> Scenario {
        let host = Scenario.HostType(
            name: "test",
            cores: 2,
            mipsPerCore: 1000,
            memoryBytes: 4e9,
            bandwidthBytesPerSecond: 2e6,
            power: try .specPower((0...10).map { 100 + 10 * Double($0) })
        )
        return try Scenario(
            profile: .cloudsim,
            intervalSeconds: 300,
            hostTypes: [host],
            hosts: Array(repeating: 0, count: hosts),
            vmTypes: [Scenario.VMType(mips: 1000, memoryBytes: 30e6)],
            followsCloudSimCode: followsCloudSimCode
        )
    }

    /// A: 50 50 80 %, B: 20 20 50 %, C: 10 70 100 %; THR with a threshold of 1 (overloaded only past 100 %).
    @Test func twoHostsThreeVMsThreeIntervals() throws {
        let workload = try Workload(
            stepCount: 3,
            traces: [("a", [50, 50, 80]), ("b", [20, 20, 50]), ("c", [10, 70, 100])]
        )
        let result = Simulator(scenario: try Self.scenario(), workload: workload, policy: .thrMMT(1)).run()

        // The power table is linear, so every placement costs 0.05 W per MIPS and PABFD takes the first host
        // that fits. Initial placement at full MIPS: A → h0; B → h0 (100 %, not above 1); C → h1.
        // Interval 0 (no migration): h0 = A + B = 700 MIPS (35 %, 135 W) at both ends: 40,500 J; h1 = C = 100
        // (5 %, 105 W) → 700 at interval 1 (135 W): 120 W × 300 s = 36,000 J.
        // Interval 1: both at 35 %, nothing overloaded; h0 (the first of equals) is evacuated: A (500, larger
        // first) and B (200) → h1, now at 1400 (70 %, 170 W) → 2300 at interval 2 (capped, 200 W): 185 W × 300 s
        // = 55,500 J. h0 was active for the 30 s of the migrations, then off.
        // Interval 2: h1 at 2300 of 2000 MIPS is overloaded. MMT takes C (all VMs have the same memory and C
        // came first); h1 falls to 1300 (65 %). C (1000) → h0, off: the only host left. h0, measured off, is
        // not evacuated, nor h1, measured at 100 %. h1 violates for C's 30 s, then runs at 165 W: 49,500 J; h0 at
        // 50 % (150 W): 45,000 J.
        let joules = 40_500.0 + 36_000 + 55_500 + 49_500 + 45_000
        #expect(abs(result.energyKWh - joules / 3_600_000) < 1e-12)
        #expect(result.migrations == 3)
        #expect(result.intervals.map(\.migrations) == [0, 2, 1])
        #expect(result.intervals.map(\.hostsOn) == [2, 1, 2])
        #expect(result.intervals.map(\.hostsOverloaded) == [0, 0, 1])
        #expect(result.intervals.map(\.hostsWoken) == [0, 0, 1])

        // Active: 600 s + (30 + 300) s + (30 + 270 + 300) s; violating: h1's 30 s before C left.
        #expect(abs(result.slatah - 30.0 / 1530) < 1e-12)
        // Lost: 10 % of A's 500, B's 200 and C's 1000 MIPS for 30 s each; requested: (800 + 1400 + 2300) × 300.
        let pdm = (0.1 * 500 * 30 + 0.1 * 200 * 30 + 0.1 * 1000 * 30) / ((800.0 + 1400 + 2300) * 300)
        #expect(abs(result.pdm - pdm) < 1e-12)
        #expect(abs(result.slav - 30.0 / 1530 * pdm) < 1e-15)
        #expect(abs(result.esv - joules / 3_600_000 * 30.0 / 1530 * pdm) < 1e-15)
    }

    /// A power table flat at first and steep past 50 % makes an empty host the cheaper place for a large VM.
    @Test func pabfdPicksTheHostWhosePowerGrowsLeast() throws {
        var scenario = try Self.scenario()
        scenario.hostTypes[0].power = try .specPower([100, 101, 102, 103, 104, 105, 120, 140, 160, 180, 200])
        // Initial placement at full MIPS: A → h0 (+5 W either way, the first); B: h0 would grow from 50 to 100 %
        // (+95 W), h1 from 0 to 50 % (+5 W) → h1, where first fit would have put it on h0; C: +95 W on both → h0.
        let workload = try Workload(stepCount: 1, traces: [("a", [50]), ("b", [0]), ("c", [10])])
        let result = Simulator(scenario: scenario, workload: workload, policy: .thrMMT(1)).run()
        // h0: A 500 + C 100 = 600 MIPS (30 %, 103 W); h1 runs only B, idle: off.
        #expect(result.intervals.map(\.hostsOn) == [1])
        #expect(abs(result.energyKWh - 103.0 * 300 / 3_600_000) < 1e-12)
        let firstFit = Simulator(scenario: scenario, workload: workload, policy: .dvfs).run()
        #expect(firstFit.intervals.map(\.hostsOn) == [2])
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
