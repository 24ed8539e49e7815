import Foundation
import TestSupport

extension ChildProcess {
    /// Runs `arguments` to completion with stdin from /dev/null and stdout, and stderr unless `errorPath` is given,
    /// going to `outputPath` (no pipe to drain). Returns the exit status (128 + the signal's number when a signal
    /// ended it; nil when it ran past `timeout` and was killed), the output and the error output (empty without
    /// `errorPath`).
    static func run(
        _ arguments: [String],
        environment: [String: String] = TestChild.environment(role: nil),
        outputPath: String,
        errorPath: String? = nil,
        timeout: Duration = .seconds(60)
    ) async throws -> (status: Int32?, output: String, errorOutput: String) {
        let child = try BackgroundProcess(
            arguments,
            environment: environment,
            outputPath: outputPath,
            errorPath: errorPath
        )
        let status = await child.exitStatus(killingAfter: timeout)
        return (status, child.stdout, errorPath == nil ? "" : child.stderr)
    }
}

extension BackgroundProcess {
    /// Starts `arguments` with stdout, and stderr unless `errorPath` is given, going to `outputPath`.
    convenience init(
        _ arguments: [String],
        environment: [String: String],
        outputPath: String,
        errorPath: String? = nil
    ) throws {
        let output = URL(fileURLWithPath: outputPath)
        try self.init(
            arguments,
            stdout: output,
            stderr: errorPath.map { URL(fileURLWithPath: $0) } ?? output,
            environment: environment
        )
    }
}

/// Re-running this test binary as a helper process: the child runs one test (by function name), which
/// sees `role` and plays the child's part instead of the parent's.
enum TestChild {
    static let roleVariable = "TORPOR_SYSTEMD_TEST_CHILD"

    /// The role this process was started for, or `nil` in a normal test run.
    static var role: String? {
        ProcessInfo.processInfo.environment[Self.roleVariable]
    }

    /// The command line running only the Swift Testing test `function` of this binary.
    static func command(running function: String) -> [String] {
        let binary =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        return [binary, "--testing-library", "swift-testing", "--filter", function]
    }

    /// This process's environment without service-manager variables, plus the child's role if any.
    static func environment(role: String?, _ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for name in serviceManagerVariables { environment[name] = nil }
        environment[Self.roleVariable] = role
        environment.merge(extra) { _, extra in extra }
        return environment
    }
}

/// The package root, for scripts/ and units/.
let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path
