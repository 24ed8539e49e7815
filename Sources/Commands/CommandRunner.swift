import Foundation
import Subprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

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
    /// Stderr and stdout kept per run, each; the rest is read and dropped so the program never blocks on a full pipe.
    public static let standardErrorLimit = 64 * 1024

    /// Runs `argv`; after `timeout` sends SIGTERM to its process group, then SIGKILL a second later.
    ///
    /// Nothing here blocks a thread of Swift's cooperative pool: swift-subprocess spawns the program and waits for
    /// its exit and its stderr through epoll on its own monitor thread, so any number of slow programs leave the
    /// pool free for heartbeats and timers.
    public static func run(
        _ argv: [String],
        timeout: Duration,
        environment: [String: String]? = nil
    ) async throws
        -> CommandOutcome
    {
        precondition(!argv.isEmpty, "a command needs a program")
        let executable = try resolve(argv[0], path: (environment ?? ProcessInfo.processInfo.environment)["PATH"])
        let options = {
            var options = PlatformOptions()
            // Its own process group, so a timeout stops every process it started (and none of ours).
            options.processGroupID = 0
            // A cancelled run (a stopping daemon) stops the whole group too.
            options.teardownSequence = [
                .gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: .seconds(1))
            ]
            return options
        }()
        var attempt = 0
        while true {
            do {
                return try await runOnce(
                    argv,
                    executable: executable,
                    options: options,
                    timeout: timeout,
                    environment: environment
                )
            } catch let error as SubprocessError {
                // ETXTBSY: the program file is still open for writing somewhere, typically in a child another thread
                // forked while the file was being written (a script written just before it is run). Nothing
                // started, so trying again runs it at most once.
                attempt += 1
                if error.code == .spawnFailed, error.underlyingError?.rawValue == ETXTBSY, attempt < 8 {
                    try await Task.sleep(for: .milliseconds(100 * attempt))
                    continue
                }
                throw CommandRunnerError.launchFailed(argv[0], reason: "\(error)")
            }
        }
    }

    private static func runOnce(
        _ argv: [String],
        executable: String,
        options: PlatformOptions,
        timeout: Duration,
        environment: [String: String]?
    ) async throws -> CommandOutcome {
        let child = ChildState()

        let result: ExecutionResult<Printed, SequenceOutput, SequenceOutput>
        do {
            result = try await withThrowingTaskGroup(
                of: ExecutionResult<Printed, SequenceOutput, SequenceOutput>?.self
            ) { group in
                group.addTask {
                    // Marked exited only once reaped: the group id may then belong to someone else.
                    defer { child.exited() }
                    return try await Subprocess.run(
                        .path(.init(executable)),
                        arguments: Arguments(Array(argv.dropFirst())),
                        environment: environment.map { .custom(Self.keys($0)) } ?? .inherit,
                        platformOptions: options,
                        input: .none,
                        output: .sequence,
                        error: .sequence
                    ) { execution in
                        child.started(execution.processIdentifier.value)
                        async let printed = Self.collect(execution.standardOutput)
                        let errors = try await Self.collect(execution.standardError)
                        return Printed(standardOutput: try await printed, standardError: errors)
                    }
                }
                group.addTask {
                    try? await Task.sleep(for: timeout)
                    guard !Task.isCancelled else { return nil }
                    child.signalOnTimeout(SIGTERM)
                    try? await Task.sleep(for: .seconds(1))
                    // A child of the program may hold stderr open after the program itself stopped.
                    if !Task.isCancelled { child.signal(SIGKILL) }
                    return nil
                }
                var finished: ExecutionResult<Printed, SequenceOutput, SequenceOutput>?
                while let next = try await group.next() {
                    if let next {
                        finished = next
                        group.cancelAll()
                    }
                }
                return finished!
            }
        }
        let printed = result.closureResult
        func outcome(_ termination: CommandOutcome.Termination) -> CommandOutcome {
            CommandOutcome(
                termination: termination,
                standardError: printed.standardError,
                standardOutput: printed.standardOutput
            )
        }
        if child.timedOut { return outcome(.timedOut) }
        switch result.terminationStatus {
        case .exited(let status): return outcome(.exited(status))
        case .signaled(let signal): return outcome(.signalled(signal))
        }
    }

    /// A program's two outputs, each cut at `standardErrorLimit` bytes.
    struct Printed: Sendable {
        var standardOutput: String
        var standardError: String
    }

    private static func keys(_ environment: [String: String]) -> [Environment.Key: String] {
        var result: [Environment.Key: String] = [:]
        for (key, value) in environment {
            if let key = Environment.Key(rawValue: key) { result[key] = value }
        }
        return result
    }

    /// Reads an output to its end, keeping the first `standardErrorLimit` bytes.
    private static func collect(_ stream: SubprocessOutputSequence) async throws -> String {
        var bytes: [UInt8] = []
        for try await buffer in stream where bytes.count < standardErrorLimit {
            buffer.withUnsafeBytes { raw in
                bytes.append(contentsOf: raw.prefix(standardErrorLimit - bytes.count))
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether `program` names an executable file, directly or through `path` (a PATH value; nil: the system's).
    public static func isRunnable(_ program: String, path: String?) -> Bool {
        (try? resolve(program, path: path)) != nil
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

/// The running program's process group as the timeout sees it: signals go only to a group that was started and
/// has not been reaped, and a timeout that fires before the program started stops it as soon as it does.
private final class ChildState: Sendable {
    private struct State {
        var processGroup: pid_t?
        var exited = false
        var timedOut = false
    }

    private let state = Mutex(State())

    var timedOut: Bool { state.withLock { $0.timedOut } }

    func started(_ pid: pid_t) {
        let stopAtOnce = state.withLock { state in
            state.processGroup = pid
            return state.timedOut
        }
        if stopAtOnce { kill(-pid, SIGKILL) }
    }

    func exited() { state.withLock { $0.exited = true } }

    func signalOnTimeout(_ signal: Int32) {
        state.withLock { state in
            state.timedOut = true
            if let group = state.processGroup, !state.exited { kill(-group, signal) }
        }
    }

    func signal(_ signal: Int32) {
        state.withLock { state in
            if let group = state.processGroup, !state.exited { kill(-group, signal) }
        }
    }
}
