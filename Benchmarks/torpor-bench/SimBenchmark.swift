import Foundation
import Simulation

/// One full day of the CloudSim profile per reference policy (1,052 VMs × 288 intervals × 800 hosts on the
/// 2011-03-03 PlanetLab traces): wall time and the process's peak memory. The traces are not in the repository:
/// the folder comes from TORPOR_SIM_TRACES (bench/run sim FOLDER sets it); without it the benchmark says so and
/// stops.
func runSimBenchmark() {
    guard let folder = ProcessInfo.processInfo.environment["TORPOR_SIM_TRACES"], !folder.isEmpty else {
        print(
            "sim: SKIPPED — no trace folder. Unpack a day of the PlanetLab traces (e.g. 20110303.tar.gz) and run "
                + "bench/run sim FOLDER (or set TORPOR_SIM_TRACES)."
        )
        return
    }
    let workload: Workload
    do {
        workload = try SimBenchmarkTraces.load(folder)
    } catch {
        print("sim: SKIPPED — \(error)")
        return
    }
    let scenario = try! Scenario.cloudSim()
    print("sim: \(workload.vmCount) VMs × \(workload.stepCount) intervals × \(scenario.hosts.count) hosts (\(folder))")
    print(SimBenchmarkTraces.row(["policy", "wall s", "peak RSS MB", "energy kWh", "migrations"]))
    for policy in [SimulationPolicy.dvfs] + SimulationPolicy.references {
        let clock = ContinuousClock()
        var result: SimulationResult?
        let elapsed = clock.measure {
            result = Simulator(scenario: scenario, workload: workload, policy: policy).run()
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        print(
            SimBenchmarkTraces.row([
                policy.name, String(format: "%.2f", seconds),
                String(format: "%.1f", SimBenchmarkTraces.peakResidentMB()),
                String(format: "%.1f", result?.energyKWh ?? 0), "\(result?.migrations ?? 0)",
            ])
        )
    }
}

enum SimBenchmarkTraces {
    /// Every regular file of the folder, in name order, as in torpor-sim.
    static func load(_ folder: String) throws -> Workload {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { !$0.hasPrefix(".") }.sorted()
        var traces: [(name: String, percent: [UInt8])] = []
        for name in names {
            let path = (folder as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            traces.append((name, try Workload.parseTrace(String(decoding: data, as: UTF8.self), file: path)))
        }
        guard !traces.isEmpty else { throw SimulationInputError(file: folder, problem: "no trace files in the folder") }
        return try Workload(stepCount: Workload.cloudSimStepCount, traces: traces)
    }

    /// VmHWM from /proc/self/status: the most resident memory the process has had.
    static func peakResidentMB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return 0 }
        let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        return kilobytes / 1024
    }

    static func row(_ cells: [String]) -> String {
        cells.enumerated().map { index, cell in
            index == 0
                ? cell.padding(toLength: 14, withPad: " ", startingAt: 0)
                : String(repeating: " ", count: max(0, 13 - cell.count)) + cell
        }.joined()
    }
}
