// torpor-bench NAME [OPTIONS]: one benchmark per name, run in release mode by bench/run; a benchmark reads its own
// options.

import Foundation
import IngestBench

let benchmarks: [(name: String, summary: String, run: () -> Void)] = [
    ("wire", "a 32-VM MonitoringReport: Wire frames vs Snooze-style JSON", WireBenchmark.run),
    ("placement", "3k, 30k, 300k VMs (or --vms N --hosts M) with each placement policy", runPlacementBenchmark),
    ("sim", "a day of PlanetLab traces on 800 hosts per CloudSim policy (bench/run sim FOLDER)", runSimBenchmark),
    ("consolidation", "Sercon vs cost-aware consolidation of 30,000 VMs on 5,000 hosts", runConsolidationBenchmark),
    ("ingest", "N simulated agents' reports into the manager's rings over mTLS and plaintext", runIngestBenchmark),
]

let arguments = CommandLine.arguments.dropFirst()
// The ingest benchmark's two sides, started by `ingest` as child processes pinned to a core each.
switch arguments.first {
case "ingest-server":
    try await WireIngestServer.main(arguments: Array(arguments))
    exit(0)
case "ingest-group-manager":
    try GroupManagerIngestServer.main(arguments: Array(arguments))
    exit(0)
case "ingest-agents":
    try await WireSimulatedAgents.main(arguments: Array(arguments))
    exit(0)
default: break
}
if let benchmark = benchmarks.first(where: { $0.name == arguments.first }) {
    benchmark.run()
} else {
    print("usage: torpor-bench NAME [OPTIONS]\n")
    for benchmark in benchmarks {
        print("  " + benchmark.name.padding(toLength: 11, withPad: " ", startingAt: 0) + benchmark.summary)
    }
    exit(64)
}
