import Placement
import Testing

@testable import Simulation

/// Where CloudSim 3.0.3's code departs from the experiment described (`Scenario.followsCloudSimCode`), each
/// departure on a cluster small enough to work out by hand: CloudSimMetricsTests' hosts (2 × 1000 MIPS, 100 W
/// idle + 100 W at full load, linear) and VMs (1000 MIPS, 30 MB).
struct CloudSimCodeTests {
    /// A: 50 0 0 60 %, B: 20 0 40 40 %; first fit puts both on h0. At interval 1, A asks for nothing there and at
    /// the next sample: it is finished and its 60 % of interval 3 never comes. B's single zero does not end it.
    @Test(arguments: [false, true])
    func aVMIdleTwoSamplesRunningFinishesOnlyAsInCloudSimsCode(followsCloudSimCode: Bool) throws {
        let workload = try Workload(stepCount: 4, traces: [("a", [50, 0, 0, 60]), ("b", [20, 0, 40, 40])])
        let scenario = try CloudSimMetricsTests.scenario(hosts: 2, followsCloudSimCode: followsCloudSimCode)
        let result = Simulator(scenario: scenario, workload: workload, policy: .dvfs).run()
        // Interval 0: h0 at 700 MIPS (35 %, 135 W) → 0 (100 W): 117.5 W × 300 s. Interval 1 starts at 0 %: off.
        // Interval 2: B's 400 (20 %, 120 W) → interval 3's load.
        let common = 117.5 * 300.0
        let joules: Double
        if followsCloudSimCode {
            // Interval 3: B alone, 120 W at both ends.
            joules = common + 120 * 300 + 120 * 300
            #expect(result.vmsFinished == 1)
        } else {
            // Interval 3: A's 600 back beside B's 400: 1000 MIPS (50 %, 150 W).
            joules = common + (120 + 150) / 2 * 300 + 150 * 300
            #expect(result.vmsFinished == 0)
        }
        #expect(abs(result.energyKWh - joules / 3_600_000) < 1e-12)
        #expect(result.intervals.map(\.hostsOn) == [1, 0, 1, 1])
    }

    /// The shared PABFD rule priced both ways. Linear power: on the plan so far every host's increase is the same,
    /// so the first host wins; priced from the measured power, h1 (measured at 40 %, 20 % on the plan so far after
    /// a VM left it) looks 20 W cheaper.
    @Test func pabfdPricedFromTheMeasuredPowerPrefersAHostThatShedLoad() throws {
        let power = try HostPowerModel.specPower((0...10).map { 100 + 10 * Double($0) })
        let planned = [0.5, 0.2]
        let measured = [0.5, 0.4]
        func choose(pricedFrom: ((Int) -> Double)?) -> Int? {
            PowerAwarePlacement.leastPowerIncrease(
                hosts: 0..<2,
                model: { _ in power },
                plannedUtilization: { planned[$0] },
                pricedFrom: pricedFrom,
                share: { _ in 0.25 },
                accepts: { _ in true }
            )
        }
        #expect(choose(pricedFrom: nil) == 0)
        #expect(choose(pricedFrom: { measured[$0] }) == 1)
    }

    /// Four hosts, THR 0.8: h0 runs A (900) and B (800), 85 %, overloaded; h1 runs C (100), 5 %; h2 is off; h3 runs
    /// D (400), 20 %. MMT sheds A (the first of equal memories) and PABFD puts it on h1 (the first of equal
    /// increases: linear power). Then the least utilised active host is evacuated: as described, h1 has just
    /// received A and stays, so h3's D goes to h1; as CloudSim's code runs, h1 is evacuated too, A (again) and C
    /// going to h3, which then stays.
    @Test(arguments: [false, true])
    func aHostThatReceivedVMsIsEvacuatedInTheSameIntervalOnlyAsInCloudSimsCode(followsCloudSimCode: Bool) throws {
        let workload = try Workload(
            stepCount: 1,
            traces: [("a", [90]), ("b", [80]), ("c", [10]), ("d", [40])]
        )
        var cluster = SimulatedCluster(
            scenario: try CloudSimMetricsTests.scenario(hosts: 4, followsCloudSimCode: followsCloudSimCode),
            vmCount: 4
        )
        cluster.enter(step: 0, of: workload)
        for (vm, host) in [(0, 0), (1, 0), (2, 1), (3, 3)] { cluster.move(vm, to: host) }

        let (migrations, overloaded) = BeloglazovPlanner(
            detector: .staticThreshold(0.8),
            followsCloudSimCode: followsCloudSimCode
        ).plan(&cluster)

        #expect(overloaded == 1)
        typealias Migration = BeloglazovPlanner.Migration
        if followsCloudSimCode {
            #expect(
                migrations == [
                    Migration(vm: 0, from: 0, to: 1), Migration(vm: 0, from: 1, to: 3),
                    Migration(vm: 2, from: 1, to: 3),
                ]
            )
            #expect(cluster.vmHost == [3, 0, 3, 3])
        } else {
            #expect(migrations == [Migration(vm: 0, from: 0, to: 1), Migration(vm: 3, from: 3, to: 1)])
            #expect(cluster.vmHost == [1, 0, 1, 1])
        }
    }

    @Test func cloudSimsCodeIsRefusedOutsideTheCloudSimProfile() throws {
        let cloudSim = try CloudSimMetricsTests.scenario(hosts: 1, followsCloudSimCode: false)
        #expect(throws: SimulationInputError.self) {
            try Scenario(
                profile: .realistic,
                intervalSeconds: 300,
                hostTypes: cloudSim.hostTypes,
                hosts: cloudSim.hosts,
                vmTypes: cloudSim.vmTypes,
                followsCloudSimCode: true
            )
        }
    }
}
