import Foundation

/// A process started by a test, its stdout and stderr going to files (no pipe to drain).
final class ChildProcess {
    let process: Process
    let outputPath: String
    let errorPath: String?

    /// - Parameter errorPath: where stderr goes, if not to `outputPath` as well.
    init(_ arguments: [String], environment: [String: String], outputPath: String, errorPath: String? = nil) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        let output = try Self.create(outputPath)
        defer { try? output.close() }
        let error = try errorPath.map(Self.create)
        defer { try? error?.close() }
        process.standardOutput = output
        process.standardError = error ?? output
        try process.run()
        self.process = process
        self.outputPath = outputPath
        self.errorPath = errorPath
    }

    private static func create(_ path: String) throws -> FileHandle {
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        return try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    }

    /// Waits for the exit status; kills the process and returns `nil` after `timeout`.
    func wait(timeout: Duration = .seconds(60)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while self.process.isRunning {
            guard ContinuousClock.now < deadline else {
                self.process.terminate()
                self.process.waitUntilExit()
                return nil
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return self.process.terminationStatus
    }

    var output: String {
        (try? String(contentsOfFile: self.outputPath, encoding: .utf8)) ?? ""
    }

    var errorOutput: String {
        self.errorPath.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) } ?? ""
    }

    /// Runs to completion: exit status (`nil` on timeout) and output.
    static func run(
        _ arguments: [String],
        environment: [String: String] = TestChild.environment(role: nil),
        outputPath: String,
        errorPath: String? = nil,
        timeout: Duration = .seconds(60)
    ) async throws -> (status: Int32?, output: String, errorOutput: String) {
        let child = try ChildProcess(arguments, environment: environment, outputPath: outputPath, errorPath: errorPath)
        let status = await child.wait(timeout: timeout)
        return (status, child.output, child.errorOutput)
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
