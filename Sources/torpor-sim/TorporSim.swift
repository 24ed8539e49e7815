import ArgumentParser
import ConfigFile
import Foundation
import Simulation

@main
struct TorporSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "torpor-sim",
        abstract: "Runs placement and consolidation policies over a CPU trace on a simulated cluster.",
        discussion: """
            TRACES is a folder of CloudSim-format traces: one file per VM, one CPU % (0–100) per line, one line \
            per control interval (288 for a day of 5-minute intervals). The scenario is the built-in CloudSim one \
            (800 HP ML110 G4/G5 hosts, four VM types) unless --scenario names a YAML file; policies are built-in \
            names (thr-mmt-0.8, mad-mmt-2.5, lr-mmt-1.2, dvfs) or YAML files (docs/sim.md). Exit status: 0 \
            after a run, 1 when an output file cannot be written, 64 on bad flags or input (the message names the \
            file, line and key).
            """,
        subcommands: [Run.self, Report.self],
        defaultSubcommand: Run.self
    )

    /// Prints the summary table (or JSON).
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the policies and print the results.")

        @OptionGroup var options: SimulationOptions

        @Flag(name: .long, help: "Print the results as JSON (sorted keys) instead of a table.")
        var json = false

        @Option(name: .long, help: "Also write every interval of every policy to this CSV file.")
        var intervalsCSV: String?

        func run() throws {
            let (workload, results) = try options.simulate()
            if let intervalsCSV {
                try SimulationOutput.write(SimulationOutput.intervalsCSV(results.map(\.0)), to: intervalsCSV)
            }
            print(json ? SimulationOutput.json(results) : SimulationOutput.table(results, workload: workload))
        }
    }

    /// Writes a folder an operator can read without tools: the table and plots over the day.
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the policies and write a report: README.md with the table, SVG plots over the day."
        )

        @OptionGroup var options: SimulationOptions

        @Option(name: .long, help: "Folder to write the report into (created if missing).")
        var output: String

        func run() throws {
            let (workload, results) = try options.simulate()
            try SimulationOutput.writeReport(results, workload: workload, traces: options.traces, to: output)
            print("report written to \(output)/README.md")
        }
    }
}

/// What every subcommand reads.
struct SimulationOptions: ParsableArguments {
    @Argument(help: "Folder of per-VM trace files.")
    var traces: String

    @Option(name: .long, help: "Scenario YAML file, or 'cloudsim' for the built-in one.")
    var scenario = "cloudsim"

    @Option(
        name: .long,
        help:
            "A built-in policy (thr-mmt-T, mad-mmt-S, lr-mmt-S, dvfs); repeat for several. Default: the three references."
    )
    var policy: [String] = []

    @Option(name: .long, help: "A policy YAML file; repeat for several.")
    var policyFile: [String] = []

    @Option(name: .long, help: "Hosts in the built-in CloudSim scenario.")
    var hosts = 800

    @Flag(
        name: .customLong("cloudsim-code"),
        help: """
            Built-in CloudSim scenario: run as CloudSim 3.0.3's code ran the reference figures (idle VMs finish, \
            PABFD prices hosts from their measured power, a host may receive and be evacuated in one interval; \
            docs/sim.md).
            """
    )
    var cloudSimCode = false

    @Flag(name: .long, help: "No progress line, even on a terminal.")
    var quiet = false

    /// Loads the inputs (exiting 64 on bad input) and runs every policy: the workload and (result, wall seconds).
    func simulate() throws -> (Workload, [(SimulationResult, Double)]) {
        let inputs: (Scenario, Workload, [SimulationPolicy])
        do {
            inputs = try loadInputs()
        } catch let error as SimulationInputError {
            Self.fail("\(error)")
        } catch let error as ConfigError {
            Self.fail("\(error)")
        }
        let (scenario, workload, policies) = inputs
        let showProgress = !quiet && isatty(STDERR_FILENO) == 1
        var results: [(SimulationResult, Double)] = []
        for policy in policies {
            let clock = ContinuousClock()
            let start = clock.now
            let result = Simulator(scenario: scenario, workload: workload, policy: policy).run { done, total in
                guard showProgress, done % 8 == 0 || done == total else { return }
                FileHandle.standardError.write(Data("\r\(policy.name): interval \(done)/\(total)".utf8))
            }
            if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            let elapsed = clock.now - start
            results.append((result, elapsed / .seconds(1)))
        }
        return (workload, results)
    }

    func loadInputs() throws -> (Scenario, Workload, [SimulationPolicy]) {
        var policies: [SimulationPolicy] = []
        for name in policy {
            guard let found = SimulationPolicy.named(name) else {
                throw ConfigError.flag(
                    "policy",
                    "'\(name)' is not a built-in policy (thr-mmt-T, mad-mmt-S, lr-mmt-S, dvfs, torpor-cost-aware, "
                        + "torpor-sercon, torpor-relocation) — or use --policy-file"
                )
            }
            policies.append(found)
        }
        for file in policyFile { policies.append(try PolicyFile.load(file)) }
        if policies.isEmpty { policies = SimulationPolicy.references }
        let built: Scenario
        if scenario == "cloudsim" {
            guard (1...1_000_000).contains(hosts) else { throw ConfigError.flag("hosts", "must be 1...1000000") }
            built = try Scenario.cloudSim(hostCount: hosts, followsCloudSimCode: cloudSimCode)
        } else {
            guard !cloudSimCode else {
                throw ConfigError.flag(
                    "cloudsim-code",
                    "applies to the built-in scenario; in a file, set cloudsim_code"
                )
            }
            built = try ScenarioFile.load(scenario)
        }
        if built.profile == .realistic {
            for policy in policies {
                guard case .beloglazov = policy.migration else { continue }
                throw ConfigError(
                    file: scenario,
                    line: nil,
                    key: "profile",
                    problem: "the realistic profile runs Torpor's policies and dvfs, not \(policy.name)"
                )
            }
        }
        let workload = try TraceFolder.load(traces)
        return (built, workload, policies)
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("torpor-sim: \(message)\n".utf8))
        Foundation.exit(64)
    }
}
