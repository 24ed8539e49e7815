import Foundation

/// Runs a configured program without a shell, with a timeout, capturing its exit status, stderr and stdout.
/// Used for the agent's power actions and the manager's wake drivers; tests point the configuration at a script
/// that records its arguments.
public struct CommandOutcome: Sendable, Equatable {
    public enum Termination: Sendable, Equatable {
        case exited(Int32)
        case signalled(Int32)
        case timedOut
    }

    public var termination: Termination
    public var standardError: String
    /// What the program printed, for programs whose answer is their output (`ipmitool chassis power status`).
    public var standardOutput = ""

    public var succeeded: Bool { termination == .exited(0) }
}

public enum CommandRunnerError: Error, CustomStringConvertible, Equatable {
    case notFound(String)
    case launchFailed(String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let program): "program '\(program)' not found in PATH"
        case .launchFailed(let program, let reason): "cannot start '\(program)': \(reason)"
        }
    }
}

public enum CommandRunner {

    /// Runs `argv`; after `timeout` sends SIGTERM, then SIGKILL a second later.
    public static func run(
        _ argv: [String],
        timeout: Duration,
        environment: [String: String]? = nil
    ) async throws
        -> CommandOutcome
    {
        precondition(!argv.isEmpty, "a command needs a program")
        let executable = try resolve(argv[0], path: (environment ?? ProcessInfo.processInfo.environment)["PATH"])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = Array(argv.dropFirst())
        if let environment { process.environment = environment }
        // Output goes to unlinked temporary files, read once the program has ended: no thread of the cooperative
        // pool blocks on a pipe while the program runs (on a 2-core machine two such reads starved the timeout), and
        // a chatty program never blocks on a full pipe.
        let stderr = try outputFile(for: argv[0])
        let stdout = try outputFile(for: argv[0])
        defer {
            try? stderr.close()
            try? stdout.close()
        }
        process.standardError = stderr
        process.standardOutput = stdout
        process.standardInput = FileHandle.nullDevice

        let exited = AsyncStream<Void>.makeStream()
        process.terminationHandler = { _ in
            exited.continuation.yield()
            exited.continuation.finish()
        }
        do {
            try process.run()
        } catch {
            throw CommandRunnerError.launchFailed(argv[0], reason: "\(error)")
        }

        let timedOut = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await _ in exited.stream {}
                return false
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return !Task.isCancelled
            }
            let first = await group.next() ?? false
            if first {
                // Foundation starts the program as a process-group leader: stop the whole group, so a child
                // holding stderr open cannot outlive the timeout.
                let group = -process.processIdentifier
                kill(group, SIGTERM)
                try? await Task.sleep(for: .seconds(1))
                kill(group, SIGKILL)
            }
            group.cancelAll()
            await group.waitForAll()
            return first
        }
        let text = written(to: stderr)
        let printed = written(to: stdout)
        func outcome(_ termination: CommandOutcome.Termination) -> CommandOutcome {
            CommandOutcome(termination: termination, standardError: text, standardOutput: printed)
        }
        if timedOut { return outcome(.timedOut) }
        switch process.terminationReason {
        case .exit: return outcome(.exited(process.terminationStatus))
        case .uncaughtSignal: return outcome(.signalled(process.terminationStatus))
        @unknown default: return outcome(.exited(process.terminationStatus))
        }
    }

    /// An anonymous temporary file (created, then unlinked) for a program's output.
    static func outputFile(for program: String) throws -> FileHandle {
        var template = Array("\(NSTemporaryDirectory())/torpor-output-XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else {
            throw CommandRunnerError.launchFailed(program, reason: "no temporary file for its output: errno \(errno)")
        }
        unlink(template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        return FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    }

    /// What the program wrote to `file`: it shares the file's offset, so read from the start.
    static func written(to file: FileHandle) -> String {
        guard (try? file.seek(toOffset: 0)) != nil, let data = try? file.readToEnd() else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    static func resolve(_ program: String, path: String?) throws -> String {
        if program.contains("/") {
            guard FileManager.default.isExecutableFile(atPath: program) else {
                throw CommandRunnerError.notFound(program)
            }
            return program
        }
        for directory in (path ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw CommandRunnerError.notFound(program)
    }
}
