// torpor-bench NAME: one benchmark per name, run in release mode by bench/run.

import Foundation

let benchmarks: [(name: String, summary: String, run: () -> Void)] = [
    ("wire", "a 32-VM MonitoringReport: Wire frames vs Snooze-style JSON", WireBenchmark.run),
    ("placement", "30,000 VMs onto 5,000 hosts with each placement policy", runPlacementBenchmark),
    ("sim", "a day of PlanetLab traces on 800 hosts per CloudSim policy (bench/run sim FOLDER)", runSimBenchmark),
]

let arguments = CommandLine.arguments.dropFirst()
if arguments.count == 1, let benchmark = benchmarks.first(where: { $0.name == arguments.first }) {
    benchmark.run()
} else {
    print("usage: torpor-bench NAME\n")
    for benchmark in benchmarks {
        print("  " + benchmark.name.padding(toLength: 11, withPad: " ", startingAt: 0) + benchmark.summary)
    }
    exit(64)
}
