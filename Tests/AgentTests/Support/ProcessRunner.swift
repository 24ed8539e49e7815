import Commands
import Foundation
import TestSupport

/// What a finished command left behind.
struct ProcessOutput: Sendable, CustomStringConvertible {
    var argv: [String]
    /// The exit status, or 128 + the signal that ended it.
    var status: Int32
    var stdout: String
    var stderr: String
    var timedOut = false

    var succeeded: Bool { status == 0 && !timedOut }

    var description: String {
        var text = "$ \(argv.joined(separator: " "))\nexit status \(status)\(timedOut ? " (timed out)" : "")"
        if !stdout.isEmpty { text += "\n--- stdout\n\(stdout)" }
        if !stderr.isEmpty { text += "\n--- stderr\n\(stderr)" }
        return text
    }
}

struct ProcessRunnerError: Error, CustomStringConvertible {
    var description: String
}

/// Runs programs for tests: no shell in between, output captured through files (so a daemon the program leaves
/// behind holding a pipe cannot hang the caller), a deadline after which the program is killed.
enum ProcessRunner {
    /// Runs `argv` (argv[0] is a path, or a name looked up on PATH) to completion.
    static func run(
        _ argv: [String],
        environment: [String: String]? = nil,
        currentDirectory: URL? = nil,
        timeout: Duration = .seconds(60)
    ) async throws -> ProcessOutput {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let outURL = directory.appendingPathComponent("stdout")
        let errURL = directory.appendingPathComponent("stderr")
        let process = try BackgroundProcess(
            argv,
            stdout: outURL,
            stderr: errURL,
            environment: environment,
            currentDirectory: currentDirectory
        )
        let status = await process.exitStatus(killingAfter: timeout)
        return ProcessOutput(
            argv: argv,
            status: status ?? process.exitStatus ?? -1,
            stdout: process.stdout,
            stderr: process.stderr,
            timedOut: status == nil
        )
    }

    /// Like `run`, but throws (with the whole transcript) unless the program exits 0.
    @discardableResult
    static func check(
        _ argv: [String],
        environment: [String: String]? = nil,
        timeout: Duration = .seconds(60)
    ) async throws -> ProcessOutput {
        let output = try await run(argv, environment: environment, timeout: timeout)
        guard output.succeeded else { throw ProcessRunnerError(description: output.description) }
        return output
    }

    /// The absolute path of `name` on PATH (or `name` itself when it already contains a slash).
    static func resolve(_ name: String) -> String? { BackgroundProcess.executablePath(name) }

    static func scratchDirectory(prefix: String = "torpor-proc") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Writes a script the tests run (close-on-exec, so a program another test starts meanwhile cannot make running
    /// it fail with "Text file busy").
    static func writeExecutable(_ text: String, to path: String) throws {
        try ExecutableFile.write(text, to: path)
    }
}

extension String {
    /// This text as an executable script at `path` (see `ProcessRunner.writeExecutable`).
    func writeExecutable(to path: String) throws { try ProcessRunner.writeExecutable(self, to: path) }
}
