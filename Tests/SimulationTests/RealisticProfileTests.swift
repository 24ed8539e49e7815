import Placement
import Simulation
import Testing

/// The realistic profile on runs small enough to work out by hand.
struct RealisticProfileTests {
    /// `hosts` hosts of 2 × 1000 MIPS, 4 GB, a 2 MB/s link, 100 W idle + 100 W × utilisation; VMs of 1000 MIPS and
    /// 30 MB (15 s to migrate over the whole link); suspend 10 s, wake 20 s, 5 W asleep, one reserve host.
    static func scenario(hosts: Int) throws -> Scenario {
        let host = Scenario.HostType(
            name: "test",
            cores: 2,
            mipsPerCore: 1000,
            memoryBytes: 4e9,
            bandwidthBytesPerSecond: 2e6,
            power: try .specPower((0...10).map { 100 + 10 * Double($0) })
        )
        return try Scenario(
            profile: .realistic,
            intervalSeconds: 300,
            hostTypes: [host],
            hosts: Array(repeating: 0, count: hosts),
            vmTypes: [Scenario.VMType(mips: 1000, memoryBytes: 30e6)],
            powerManagement: PowerManagement(
                sleepSeconds: 10,
                wakeSeconds: 20,
                standbyWatts: 5,
                reserveHosts: 1,
                minimumAwakeSeconds: 600,
                minimumAsleepSeconds: 300
            )
        )
    }

    /// A: 50 50 50 %, B and C: 10 10 10 %, four hosts.
    @Test func anEmptiedHostStaysAwakeAsTheReserveAndTheSpareOneSleeps() throws {
        let workload = try Workload(
            stepCount: 3,
            traces: [("a", [50, 50, 50]), ("b", [10, 10, 10]), ("c", [10, 10, 10])]
        )
        let result = Simulator(scenario: try Self.scenario(hosts: 4), workload: workload, policy: .torpor(.none)).run()

        // PABFD at full MIPS: A, B → h0, C → h1; h2 is the reserve (awake, empty), h3 asleep.
        // Interval 0: h1 is under MIN: C → h0 (35 %, 135 W: 40,500 J), 15 s; h1 awake and empty (30,000 J) but
        // just migrated from, so left alone; h2 the reserve (30,000 J); h3 5 W: 1,500 J.
        // Interval 1: h1 and h2 are empty: one beyond the reserve, the highest (h2), goes to sleep: 10 s at 100 W
        // and 290 s at 5 W = 2,450 J; h0 40,500, h1 30,000, h3 1,500 J.
        // Interval 2: h2 asleep (1,500 J), h1 the reserve.
        let perInterval: [[Double]] = [
            [40_500, 30_000, 30_000, 1_500], [40_500, 30_000, 2_450, 1_500], [40_500, 30_000, 1_500, 1_500],
        ]
        let joules = perInterval.joined().reduce(0, +)
        #expect(abs(result.energyKWh - joules / 3_600_000) < 1e-12)
        #expect(result.intervals.map(\.migrations) == [1, 0, 0])
        #expect(result.intervals.map(\.hostsOn) == [3, 2, 2])
        #expect(result.intervals.map(\.hostsWoken) == [0, 0, 0])
        // Lost: 10 % of C's 100 MIPS for 15 s; requested 700 MIPS × 3 intervals.
        #expect(abs(result.pdm - 0.1 * 100 * 15 / (700.0 * 3 * 300)) < 1e-15)
    }

    /// A: 50 95 95 %, B: 10 95 95 %, three hosts.
    @Test func reliefOntoTheReserveWakesAnotherHost() throws {
        let workload = try Workload(stepCount: 3, traces: [("a", [50, 95, 95]), ("b", [10, 95, 95])])
        let result = Simulator(scenario: try Self.scenario(hosts: 3), workload: workload, policy: .torpor(.none)).run()

        // A, B → h0; h1 the reserve; h2 asleep. Interval 1: h0 at 95 % > MAX 90 %; no host in use can take a VM,
        // so the reserve h1 takes A (15 s). No empty host is left awake: h2 (asleep long enough) wakes: 20 s at
        // 100 W, the rest at 5 W, and is awake from interval 2.
        #expect(result.intervals.map(\.migrations) == [0, 1, 0])
        #expect(result.intervals.map(\.hostsWoken) == [0, 1, 0])
        #expect(result.intervals.map(\.hostsOn) == [2, 2, 3])
        // Interval 1: h0 B at 950 of 2000 MIPS after A left (147.5 W); h1 A at 950 (147.5 W); h2 waking.
        #expect(abs(result.intervals[1].watts - (147.5 + 147.5 + (20.0 * 100 + 280 * 5) / 300)) < 1e-9)
        // Lost: 10 % of A's 950 MIPS for 15 s; requested (600 + 1900 + 1900) MIPS × 300 s.
        #expect(abs(result.pdm - 0.1 * 950 * 15 / (4400.0 * 300)) < 1e-15)
    }
}
