import AgentControl
import ArgumentParser
import Foundation
import Transport
import Wire

/// Sends cluster requests to the manager's group leader; failures are printed and thrown as the matching ExitCode.
struct ClusterClient {
    let options: ManagerOptions

    var session: AgentSession {
        var global = GlobalOptions()
        global.json = options.json
        global.timeout = options.timeout
        global.tls = options.tls
        return AgentSession(options: global, endpoint: options.manager, label: "manager", program: "torpor")
    }

    func request(_ request: ClusterRequest) async throws -> WireMessage {
        let session = self.session
        return try await session.run { connection in
            try await session.request(.clusterRequest(request), on: connection)
        }
    }

    /// Connects within --timeout like every request, but waits up to `seconds` (at least --timeout) for the answer:
    /// for requests the manager answers only after running programs (an image's checksum, VMs' overlays).
    func request(_ request: ClusterRequest, answerWithin seconds: Double) async throws -> WireMessage {
        let session = self.session
        let wait = Duration.milliseconds(Int64(max(seconds, options.timeout) * 1000))
        return try await session.run { connection in
            try await connection.request(.clusterRequest(request), timeout: wait)
        }
    }

    func clusters(_ request: ClusterRequest) async throws -> ClusterReply {
        let reply = try await self.request(request)
        guard case .clusterReply(let clusters) = reply else {
            throw session.unexpected(reply, expected: "ClusterReply")
        }
        return clusters
    }

    /// The manager's CommandResult when it is ok; otherwise its message printed and exit 1.
    func commandResult(_ request: ClusterRequest) async throws -> CommandResult {
        let reply = try await self.request(request)
        guard case .commandResult(let result) = reply else {
            throw session.unexpected(reply, expected: "CommandResult")
        }
        guard result.isOK else {
            throw session.failure(result.message.isEmpty ? "\(result.code)" : result.message, code: TorporExit.failed)
        }
        return result
    }

    func task(_ request: ClusterRequest) async throws -> TaskStatus {
        let reply = try await self.request(request)
        guard case .taskStatus(let status) = reply else { throw session.unexpected(reply, expected: "TaskStatus") }
        return status
    }

    /// Polls the task until it ends or `timeout` seconds pass (nil: however long it takes); progress goes to
    /// standard error as it changes.
    func wait(for taskID: String, timeout: Double?, showProgress: Bool) async throws -> TaskStatus {
        let session = self.session
        let deadline = timeout.map { ContinuousClock.now + .milliseconds(Int64($0 * 1000)) }
        let started = ContinuousClock.now
        return try await session.run { connection in
            var progress = TaskOutput.ProgressLine(terminal: isatty(STDERR_FILENO) == 1)
            defer { progress.finish() }
            while true {
                let waitMilliseconds = Self.nextWait(left: deadline.map { $0 - ContinuousClock.now }) ?? 0
                let reply = try await connection.request(
                    .clusterRequest(.task(id: taskID, waitMilliseconds: waitMilliseconds)),
                    timeout: .seconds(options.timeout) + .milliseconds(Int64(waitMilliseconds))
                )
                guard case .taskStatus(let status) = reply else {
                    throw session.unexpected(reply, expected: "TaskStatus")
                }
                if status.state.isFinished { return status }
                if showProgress {
                    let elapsed = (ContinuousClock.now - started).components.seconds
                    progress.show(TaskOutput.progressLine(status), elapsedSeconds: elapsed)
                }
                if let deadline, let timeout, ContinuousClock.now >= deadline {
                    throw session.failure(
                        "task \(taskID) still \(TaskOutput.word(status.state)) after \(Int(timeout)) s: "
                            + "\(status.message) (it goes on: torpor task show \(taskID))",
                        code: TorporExit.timedOut
                    )
                }
            }
        }
    }

    /// How long the next status request waits for a change, in milliseconds: a second at most (the progress
    /// line stays fresh, and far below the leader's `maximumTaskWait`), what is left of a nearer deadline, nil
    /// once the deadline passed. Without a deadline, always a second.
    static func nextWait(left: Duration?) -> UInt32? {
        guard let left else { return 1000 }
        guard left > .zero else { return nil }
        return UInt32(min(1000, max(1, (left / .milliseconds(1)).rounded(.up))))
    }

    /// Prints a task's status and fails with exit 1 when the task failed.
    func report(_ status: TaskStatus) throws {
        if options.json {
            Output.printJSON(TaskOutput.json(status))
        } else {
            print(TaskOutput.text(status))
        }
        if status.state == .failed { throw ExitCode(TorporExit.failed) }
    }
}
