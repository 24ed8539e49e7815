import Placement
import Simulation
import Testing

/// Torpor's own policies in the CloudSim profile, on a run small enough to work out by hand.
struct TorporPolicySimulationTests {
    /// CloudSimMetricsTests' two hosts (2 × 1000 MIPS, 100 W + 100 W × utilisation) and VMs (1000 MIPS, 30 MB,
    /// 30 s to migrate). A: 50 50 %, B: 10 10 %, C: 10 10 %.
    @Test func relocationEmptiesAnUnderloadedHostOntoAnotherInUse() throws {
        let workload = try Workload(stepCount: 2, traces: [("a", [50, 50]), ("b", [10, 10]), ("c", [10, 10])])
        let policy = SimulationPolicy.torpor(.costAware)
        let result = Simulator(scenario: try CloudSimMetricsTests.scenario(), workload: workload, policy: policy).run()

        // PABFD at full MIPS: A, B → h0 (100 %), C → h1. Relocation runs from interval 0: h0 at 600 MIPS (30 %) is
        // not under MIN, h1 at 100 (5 % < 20 %) is; C goes to h0 (35 %, within MID 80 %) and h1 is off after C's
        // 30 s. h0 runs at 700 MIPS (135 W) in both intervals: 2 × 40,500 J. Consolidation (hourly, so in interval
        // 0 only) finds one host in use: nothing to do.
        let joules = 2 * 40_500.0
        #expect(abs(result.energyKWh - joules / 3_600_000) < 1e-12)
        #expect(result.intervals.map(\.migrations) == [1, 0])
        #expect(result.intervals.map(\.hostsOn) == [1, 1])
        #expect(result.intervals.map(\.hostsWoken) == [0, 0])
        #expect(result.slatah == 0)
        // Lost: 10 % of C's 100 MIPS for 30 s; requested (700 + 700) MIPS × 300 s.
        #expect(abs(result.pdm - 0.1 * 100 * 30 / (1400.0 * 300)) < 1e-15)
    }

    /// A, B, C at 10 %. At full MIPS PABFD puts A and B on h0 (100 %) and C on h1; both hosts are then under MIN,
    /// so relocation finds no destination, and consolidation in interval 0 moves C to h0 (the host with more VMs is
    /// kept). At `estimator.packing_density` 0.3 (300 MIPS each) all three fit h0 at once and nothing moves.
    @Test(arguments: [(1.0, [1, 0]), (0.3, [0, 0])])
    func theFirstPlacementPacksByPackingDensityAndConsolidationStartsAtOnce(
        density: Double,
        migrations: [Int]
    ) throws {
        let workload = try Workload(stepCount: 2, traces: [("a", [10, 10]), ("b", [10, 10]), ("c", [10, 10])])
        let torpor = TorporPolicy(consolidation: .costAware, bandwidthBytesPerSecond: 62_500_000, packingDensity: density)
        let policy = SimulationPolicy(name: "torpor", initialPlacement: .powerAware, migration: .torpor(torpor))
        let result = Simulator(scenario: try CloudSimMetricsTests.scenario(), workload: workload, policy: policy).run()
        #expect(result.intervals.map(\.migrations) == migrations)
        #expect(result.intervals.map(\.hostsOn) == [1, 1])
        // h0 at 300 MIPS (15 %, 115 W) in both intervals.
        #expect(abs(result.energyKWh - 2 * 115.0 * 300 / 3_600_000) < 1e-12)
    }

    /// A: 50 95 %, B: 10 95 %: h0 (A and B) goes past MAX 90 % in interval 1 and relocation wakes h1 for one VM.
    @Test func anOverloadedHostIsRelievedOntoAnEmptyOneWhenNoOtherCanTakeIt() throws {
        let workload = try Workload(stepCount: 2, traces: [("a", [50, 95]), ("b", [10, 95])])
        let result = Simulator(
            scenario: try CloudSimMetricsTests.scenario(),
            workload: workload,
            policy: .torpor(.none)
        ).run()
        // Both on h0 (PABFD at full MIPS); interval 1: 1900 of 2000 MIPS (95 % > 90 %): one VM (the first of
        // equals, A) moves to the empty h1, which is counted as woken.
        #expect(result.intervals.map(\.migrations) == [0, 1])
        #expect(result.intervals.map(\.hostsOverloaded) == [0, 1])
        #expect(result.intervals.map(\.hostsWoken) == [0, 1])
        #expect(result.intervals.map(\.hostsOn) == [1, 2])
    }
}
