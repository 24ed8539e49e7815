import ArgumentParser
import Foundation
import Simulation

/// The summary: one row (or JSON object) per policy.
enum SimulationOutput {
    static func table(_ results: [(SimulationResult, Double)], workload: Workload) -> String {
        var lines: [String] = []
        if let first = results.first?.0 {
            lines.append(
                "\(first.vmCount) VMs × \(workload.stepCount) intervals of \(Int(first.intervalSeconds)) s on "
                    + "\(first.hostCount) hosts (\(first.profile.rawValue) profile)"
                    + (first.vmsFinished > 0
                        ? "; as CloudSim 3.0.3's code, \(first.vmsFinished) VMs finished when idle" : "")
            )
        }
        let header = [
            "policy", "energy kWh", "SLATAH %", "PDM %", "SLAV", "ESV", "migrations", "hosts woken",
            "hosts on (mean/peak)", "wall s",
        ]
        var rows = [header]
        for (result, seconds) in results {
            rows.append([
                result.policy,
                String(format: "%.1f", result.energyKWh),
                String(format: "%.2f", result.slatah * 100),
                String(format: "%.3f", result.pdm * 100),
                String(format: "%.2e", result.slav),
                String(format: "%.2e", result.esv),
                "\(result.migrations)",
                "\(result.hostsWoken)",
                String(format: "%.1f/%d", result.meanHostsOn, result.peakHostsOn),
                String(format: "%.1f", seconds),
            ])
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            lines.append(
                row.enumerated().map { column, cell in
                    column == 0
                        ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                        : String(repeating: " ", count: widths[column] - cell.count) + cell
                }.joined(separator: "  ")
            )
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ results: [(SimulationResult, Double)]) -> String {
        let objects: [[String: Any]] = results.map { result, seconds in
            [
                "policy": result.policy,
                "profile": result.profile.rawValue,
                "hosts": result.hostCount,
                "vms": result.vmCount,
                "vms_finished": result.vmsFinished,
                "interval_seconds": result.intervalSeconds,
                "energy_kwh": result.energyKWh,
                "slatah": result.slatah,
                "pdm": result.pdm,
                "slav": result.slav,
                "esv": result.esv,
                "migrations": result.migrations,
                "hosts_woken": result.hostsWoken,
                "mean_hosts_on": result.meanHostsOn,
                "peak_hosts_on": result.peakHostsOn,
                "wall_seconds": seconds,
            ]
        }
        let data =
            (try? JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys, .prettyPrinted])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// One row per policy and interval.
    static func intervalsCSV(_ results: [SimulationResult]) -> String {
        var lines = ["policy,interval,hosts_on,watts,hosts_violating,migrations,hosts_overloaded,hosts_woken"]
        for result in results {
            for (index, interval) in result.intervals.enumerated() {
                lines.append(
                    "\(result.policy),\(index),\(interval.hostsOn),\(String(format: "%.1f", interval.watts)),"
                        + "\(interval.hostsViolating),\(interval.migrations),\(interval.hostsOverloaded),"
                        + "\(interval.hostsWoken)"
                )
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes `text` to `path`, or exits 1 naming the file.
    static func write(_ text: String, to path: String) throws {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        } catch {
            FileHandle.standardError.write(
                Data("torpor-sim: cannot write \(path): \(error.localizedDescription)\n".utf8)
            )
            throw ExitCode(1)
        }
    }

    /// README.md with the table, and one SVG plot per quantity over the day with a line per policy.
    static func writeReport(
        _ results: [(SimulationResult, Double)],
        workload: Workload,
        traces: String,
        to folder: String
    ) throws {
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            FileHandle.standardError.write(
                Data("torpor-sim: cannot create \(folder): \(error.localizedDescription)\n".utf8)
            )
            throw ExitCode(1)
        }
        let interval = results.first?.0.intervalSeconds ?? 300
        let plots: [(file: String, title: String, unit: String, value: (SimulationResult.Interval) -> Double)] = [
            ("hosts-on.svg", "Hosts on", "hosts", { Double($0.hostsOn) }),
            ("power.svg", "Power", "kW", { $0.watts / 1000 }),
            ("sla-violations.svg", "Hosts short of CPU (SLA violations)", "hosts", { Double($0.hostsViolating) }),
            ("migrations.svg", "Migrations per interval", "migrations", { Double($0.migrations) }),
        ]
        for plot in plots {
            let svg = SVGPlot(
                title: plot.title,
                unit: plot.unit,
                intervalSeconds: interval,
                series: results.map { ($0.0.policy, $0.0.intervals.map(plot.value)) }
            )
            try write(svg.render(), to: (folder as NSString).appendingPathComponent(plot.file))
        }
        var markdown =
            "# torpor-sim report\n\nTraces: `\(traces)`\n\n```\n\(table(results, workload: workload))\n```\n\n"
        markdown += "Energy in kWh over the run; SLATAH: time hosts were short of CPU ÷ time they were on; PDM: demand "
        markdown += "lost to migrations ÷ demand; SLAV = SLATAH × PDM; ESV = energy × SLAV (docs/sim.md).\n\n"
        for plot in plots { markdown += "![\(plot.title)](\(plot.file))\n\n" }
        try write(markdown, to: (folder as NSString).appendingPathComponent("README.md"))
    }
}
