import Foundation

/// Runs a configured program without a shell, with a timeout, capturing its exit status and stderr.
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
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
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
        // Drain stderr concurrently so a chatty program cannot block on a full pipe.
        let errorOutput = Task.detached { stderr.fileHandleForReading.readDataToEndOfFile() }

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
        let data = await errorOutput.value
        let text = String(decoding: data, as: UTF8.self)
        if timedOut { return CommandOutcome(termination: .timedOut, standardError: text) }
        switch process.terminationReason {
        case .exit: return CommandOutcome(termination: .exited(process.terminationStatus), standardError: text)
        case .uncaughtSignal:
            return CommandOutcome(termination: .signalled(process.terminationStatus), standardError: text)
        @unknown default: return CommandOutcome(termination: .exited(process.terminationStatus), standardError: text)
        }
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
