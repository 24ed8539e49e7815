import Foundation
import TestSupport
import Testing

/// torpor-sim run as a process: bad input exits 64 with a message naming the file, line and key; good input runs.
@Suite(.serialized)
struct TorporSimCommandTests {
    /// Built next to the test bundle by `swift build --build-tests`; TORPOR_BIN_DIR overrides.
    static func binary() throws -> String {
        var candidates: [String] = []
        if let directory = ProcessInfo.processInfo.environment["TORPOR_BIN_DIR"] { candidates.append(directory) }
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            var url = URL(fileURLWithPath: executable).deletingLastPathComponent()
            while url.path.contains(".xctest") { url = url.deletingLastPathComponent() }
            candidates.append(url.path)
        }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        candidates.append(packageRoot.appendingPathComponent(".build/debug").path)
        for directory in candidates where FileManager.default.isExecutableFile(atPath: "\(directory)/torpor-sim") {
            return "\(directory)/torpor-sim"
        }
        throw CommandFailure(
            description: "torpor-sim not built (looked in \(candidates)): run swift build --build-tests"
        )
    }

    struct CommandFailure: Error, CustomStringConvertible {
        var description: String
    }

    struct Outcome {
        var status: Int32
        var standardOutput: String
        var standardError: String
    }

    /// Runs torpor-sim to its end, polling for its exit with Task.sleep: blocking on the cooperative pool (2 threads
    /// on 2 cores) held one of them for the whole run, and two such tests at once starved every other test of the
    /// process. The status is 128 + the signal's number when a signal ended it.
    static func run(_ arguments: [String]) async throws -> Outcome {
        let directory = try folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let process = try BackgroundProcess(
            [try binary()] + arguments,
            stdout: directory.appendingPathComponent("stdout"),
            stderr: directory.appendingPathComponent("stderr"),
            // An explicit environment: copying this process's own would read `environ` while other suites
            // (SystemdTests) may be changing it with setenv, which reallocates the array under the reader (seen
            // crash a full run).
            environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"]
        )
        // Far beyond a run's few seconds: a torpor-sim that hangs fails its test instead of the whole test run.
        guard let status = await process.exitStatus(killingAfter: .seconds(600)) else {
            throw CommandFailure(description: "torpor-sim \(arguments) did not exit within 600 s:\n\(process.stderr)")
        }
        return Outcome(
            status: status,
            standardOutput: process.stdout,
            standardError: process.stderr
        )
    }

    /// A fresh folder under the temporary directory, removed by the caller.
    static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("torpor-sim-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func write(_ text: String, to url: URL) throws {
        try Data(text.utf8).write(to: url)
    }

    static func trace(_ values: [Int]) -> String {
        values.map(String.init).joined(separator: "\n") + "\n"
    }

    static var fixtures: String {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("three-vms").path
    }

    @Test func anEmptyFolderIsNamed() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let outcome = try await Self.run([folder.path])
        #expect(outcome.status == 64)
        #expect(outcome.standardError.contains(folder.path))
        #expect(outcome.standardError.contains("no trace files"))
    }

    @Test func aTraceOneLineShortNamesTheFileAndItsLength() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.write(Self.trace(Array(repeating: 10, count: 288)), to: folder.appendingPathComponent("good one"))
        try Self.write(Self.trace(Array(repeating: 10, count: 287)), to: folder.appendingPathComponent("short one"))
        let outcome = try await Self.run([folder.path])
        #expect(outcome.status == 64)
        #expect(outcome.standardError.contains("short one:287:"))
        #expect(outcome.standardError.contains("has 287 values; expected 288"))
    }

    @Test func aValueOf140NamesTheFileAndLine() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var values = Array(repeating: 10, count: 288)
        values[41] = 140
        try Self.write(Self.trace(values), to: folder.appendingPathComponent("vm with spaces"))
        let outcome = try await Self.run([folder.path])
        #expect(outcome.status == 64)
        #expect(outcome.standardError.contains("vm with spaces:42: 140 is outside 0–100"))
    }

    @Test func anUnknownPolicyKeyIsNamedWithItsLine() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let policy = folder.appendingPathComponent("policy.yaml")
        try Self.write("migration:\n  overload_detector: thr\n  treshold: 0.8\n", to: policy)
        let outcome = try await Self.run([Self.fixtures, "--policy-file", policy.path])
        #expect(outcome.status == 64)
        #expect(
            outcome.standardError.contains("policy.yaml:3: migration.treshold: unknown key (did you mean 'threshold'?)")
        )
    }

    @Test func aScenarioWithNoHostsIsNamed() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let scenario = folder.appendingPathComponent("scenario.yaml")
        try Self.write(
            """
            host_types:
              small: { cores: 2, mips_per_core: 1000, watts: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] }
            hosts:
              count: 0
            vm_types:
              tiny: { mips: 500, memory_mb: 512 }

            """,
            to: scenario
        )
        let outcome = try await Self.run([Self.fixtures, "--scenario", scenario.path])
        #expect(outcome.status == 64)
        #expect(outcome.standardError.contains("scenario.yaml:4: hosts.count: the scenario has no hosts"))
    }

    @Test func torporsPoliciesRunFromManagerYAMLKeys() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let policy = folder.appendingPathComponent("policy.yaml")
        try Self.write(
            """
            relocation:
              thresholds: { min: 0.1, mid: 0.7, max: 0.85 }
            consolidation:
              policy: sercon
              schedule: "*/15 * * * *"
              budget: 10m

            """,
            to: policy
        )
        let outcome = try await Self.run([Self.fixtures, "--hosts", "4", "--policy-file", policy.path, "--json"])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let parsed = try JSONSerialization.jsonObject(with: Data(outcome.standardOutput.utf8)) as? [[String: Any]]
        let results = try #require(parsed)
        #expect(results.map { $0["policy"] as? String } == ["Torpor-sercon"])
    }

    @Test func aScheduleThatIsNoPeriodIsNamedWithItsLine() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let policy = folder.appendingPathComponent("policy.yaml")
        try Self.write("consolidation:\n  policy: cost-aware\n  schedule: \"0 3 * * *\"\n", to: policy)
        let outcome = try await Self.run([Self.fixtures, "--policy-file", policy.path])
        #expect(outcome.status == 64)
        #expect(outcome.standardError.contains("policy.yaml:3: consolidation.schedule:"), "\(outcome.standardError)")
    }

    @Test func aPackingDensityOutOfRangeIsNamedWithItsLine() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let policy = folder.appendingPathComponent("policy.yaml")
        try Self.write("consolidation:\n  policy: cost-aware\nestimator:\n  packing_density: 2\n", to: policy)
        let outcome = try await Self.run([Self.fixtures, "--policy-file", policy.path])
        #expect(outcome.status == 64)
        #expect(outcome.standardError.contains("policy.yaml:4: estimator.packing_density:"), "\(outcome.standardError)")
    }

    @Test func theExamplePackedPolicyRuns() async throws {
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let example = packageRoot.appendingPathComponent("examples/sim/torpor-packed.yaml")
        let outcome = try await Self.run([Self.fixtures, "--hosts", "4", "--policy-file", example.path, "--json"])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let parsed = try JSONSerialization.jsonObject(with: Data(outcome.standardOutput.utf8)) as? [[String: Any]]
        let results = try #require(parsed)
        #expect(results.map { $0["policy"] as? String } == ["Torpor-cost-aware-packed"])
    }

    @Test func thresholdsOutOfOrderAreNamed() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let policy = folder.appendingPathComponent("policy.yaml")
        try Self.write("relocation:\n  thresholds:\n    cpu: { min: 0.5, mid: 0.4 }\n", to: policy)
        let outcome = try await Self.run([Self.fixtures, "--policy-file", policy.path])
        #expect(outcome.status == 64)
        #expect(outcome.standardError.contains("policy.yaml:2: relocation.thresholds:"), "\(outcome.standardError)")
    }

    /// The realistic scenario written out in examples/sim, shrunk to four hosts.
    static func realisticScenario(in folder: URL) throws -> URL {
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let example = try String(
            contentsOf: packageRoot.appendingPathComponent("examples/sim/realistic.yaml"),
            encoding: .utf8
        )
        let url = folder.appendingPathComponent("realistic.yaml")
        try Self.write(example.replacingOccurrences(of: "count: 800", with: "count: 4"), to: url)
        return url
    }

    @Test func theRealisticProfileRunsTorporsPolicies() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let scenario = try Self.realisticScenario(in: folder)
        let outcome = try await Self.run([Self.fixtures, "--scenario", scenario.path, "--policy", "torpor", "--json"])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let parsed = try JSONSerialization.jsonObject(with: Data(outcome.standardOutput.utf8)) as? [[String: Any]]
        let results = try #require(parsed)
        #expect(results.map { $0["profile"] as? String } == ["realistic"])
        #expect(results.allSatisfy { ($0["energy_kwh"] as? Double ?? 0) > 0 })
    }

    @Test func theRealisticProfileRefusesBeloglazovsPolicies() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let scenario = try Self.realisticScenario(in: folder)
        let outcome = try await Self.run([Self.fixtures, "--scenario", scenario.path, "--policy", "lr-mmt-1.2"])
        #expect(outcome.status == 64)
        #expect(outcome.standardError.contains("profile: the realistic profile runs Torpor's policies and dvfs"))
    }

    /// A VM idle for the second half of the day finishes as CloudSim 3.0.3's code has it, and only then.
    @Test func cloudSimsCodeFinishesAnIdleVM() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let traces = folder.appendingPathComponent("traces")
        try FileManager.default.createDirectory(at: traces, withIntermediateDirectories: true)
        try Self.write(
            Self.trace(Array(repeating: 50, count: 144) + Array(repeating: 0, count: 144)),
            to: traces.appendingPathComponent("idle later")
        )
        try Self.write(Self.trace(Array(repeating: 30, count: 288)), to: traces.appendingPathComponent("busy"))
        for (flags, finished) in [([String](), 0), (["--cloudsim-code"], 1)] {
            let outcome = try await Self.run([traces.path, "--hosts", "4", "--policy", "dvfs", "--json"] + flags)
            #expect(outcome.status == 0, "\(outcome.standardError)")
            let parsed = try JSONSerialization.jsonObject(with: Data(outcome.standardOutput.utf8)) as? [[String: Any]]
            let results = try #require(parsed)
            #expect(results.map { $0["vms_finished"] as? Int } == [finished], "\(flags)")
        }
    }

    @Test func cloudSimsCodeIsRefusedForAScenarioFileAndOutsideTheCloudSimProfile() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let scenario = try Self.realisticScenario(in: folder)
        let flag = try await Self.run([Self.fixtures, "--scenario", scenario.path, "--cloudsim-code"])
        #expect(flag.status == 64)
        #expect(
            flag.standardError.contains("--cloudsim-code: applies to the built-in scenario"),
            "\(flag.standardError)"
        )

        let text = try String(contentsOf: scenario, encoding: .utf8)
        try Self.write("cloudsim_code: true\n" + text, to: scenario)
        let key = try await Self.run([Self.fixtures, "--scenario", scenario.path, "--policy", "dvfs"])
        #expect(key.status == 64)
        #expect(
            key.standardError.contains(
                "realistic.yaml:1: cloudsim_code: CloudSim's code is followed only in the cloudsim profile"
            ),
            "\(key.standardError)"
        )
    }

    @Test func aGoodRunPrintsEveryPolicyAsJSON() async throws {
        let outcome = try await Self.run([
            Self.fixtures, "--hosts", "4", "--policy", "thr-mmt-0.8", "--policy", "dvfs", "--json",
        ])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let parsed = try JSONSerialization.jsonObject(with: Data(outcome.standardOutput.utf8)) as? [[String: Any]]
        let results = try #require(parsed)
        #expect(results.map { $0["policy"] as? String } == ["THR-MMT-0.8", "DVFS"])
        #expect(results.allSatisfy { ($0["vms"] as? Int) == 3 && ($0["hosts"] as? Int) == 4 })
        #expect(results.allSatisfy { ($0["energy_kwh"] as? Double ?? 0) > 0 })
        #expect(results.last?["migrations"] as? Int == 0)
    }

    @Test func aReportHasTheTableAndAPlotPerQuantity() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("report")
        let outcome = try await Self.run([
            "report", Self.fixtures, "--hosts", "4", "--policy", "lr-mmt-1.2", "--policy", "dvfs", "--output",
            output.path,
        ])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let readme = try String(contentsOf: output.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains("LR-MMT-1.2") && readme.contains("DVFS"))
        for plot in ["hosts-on", "power", "sla-violations", "migrations"] {
            #expect(readme.contains("(\(plot).svg)"))
            let svg = try String(contentsOf: output.appendingPathComponent("\(plot).svg"), encoding: .utf8)
            #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
            #expect(svg.hasSuffix("</svg>\n"))
            // One line per policy, one point per interval.
            let lines = svg.components(separatedBy: "<polyline").dropFirst()
            #expect(lines.count == 2)
            #expect(lines.allSatisfy { $0.prefix(while: { $0 != "/" }).split(separator: ",").count == 289 })
        }
    }
}
