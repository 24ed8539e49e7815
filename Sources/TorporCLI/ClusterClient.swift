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
        return AgentSession(options: global, endpoint: options.manager, label: "manager", program: "torpor")
    }

    func request(_ request: ClusterRequest) async throws -> WireMessage {
        let session = self.session
        return try await session.run { connection in
            try await session.request(.clusterRequest(request), on: connection)
        }
    }

    func clusters(_ request: ClusterRequest) async throws -> ClusterReply {
        let reply = try await self.request(request)
        guard case .clusterReply(let clusters) = reply else {
            throw session.unexpected(reply, expected: "ClusterReply")
        }
        return clusters
    }

    func task(_ request: ClusterRequest) async throws -> TaskStatus {
        let reply = try await self.request(request)
        guard case .taskStatus(let status) = reply else { throw session.unexpected(reply, expected: "TaskStatus") }
        return status
    }

    /// Polls the task until it ends or `timeout` seconds pass; progress goes to standard error as it changes.
    func wait(for taskID: String, timeout: Double, showProgress: Bool) async throws -> TaskStatus {
        let session = self.session
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        let started = ContinuousClock.now
        return try await session.run { connection in
            var progress = TaskOutput.ProgressLine(terminal: isatty(STDERR_FILENO) == 1)
            defer { progress.finish() }
            while true {
                let left = deadline - ContinuousClock.now
                let waitMilliseconds = max(0, min(1000, Int(left.components.seconds * 1000)))
                let reply = try await connection.request(
                    .clusterRequest(.task(id: taskID, waitMilliseconds: UInt32(waitMilliseconds))),
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
                guard ContinuousClock.now < deadline else {
                    throw session.failure(
                        "task \(taskID) still \(TaskOutput.word(status.state)) after \(Int(timeout)) s: \(status.message)",
                        code: TorporExit.timedOut
                    )
                }
            }
        }
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
