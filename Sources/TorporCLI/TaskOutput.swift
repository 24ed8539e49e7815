import AgentControl
import Foundation
import Wire

/// How a task is shown: a summary line and a table of per-VM outcomes, or JSON.
enum TaskOutput {
    static func word(_ state: TaskStatus.State) -> String {
        switch state {
        case .pending: "pending"
        case .running: "running"
        case .succeeded: "succeeded"
        case .failed: "failed"
        }
    }

    static func word(_ state: TaskStatus.Outcome.State) -> String {
        switch state {
        case .pending: "pending"
        case .inProgress: "in progress"
        case .done: "done"
        case .failed: "failed"
        case .unplaced: "unplaced"
        }
    }

    static func text(_ status: TaskStatus) -> String {
        var lines = ["task \(status.id) (\(status.kind) \(status.cluster)): \(word(status.state)) — \(status.message)"]
        if !status.outcomes.isEmpty {
            var rows = [["VM", "OUTCOME", "HOST", "DETAIL"]]
            for outcome in status.outcomes {
                rows.append([
                    outcome.vm, word(outcome.state), outcome.hostID.isEmpty ? "-" : outcome.hostID, outcome.message,
                ])
            }
            lines.append(Output.table(rows))
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ status: TaskStatus) -> [String: Any] {
        [
            "id": status.id,
            "kind": status.kind,
            "cluster": status.cluster,
            "state": word(status.state),
            "message": status.message,
            "createdAt": isoTime(status.createdAtUnixMilliseconds),
            "updatedAt": isoTime(status.updatedAtUnixMilliseconds),
            "outcomes": status.outcomes.map { outcome in
                [
                    "vm": outcome.vm,
                    "state": word(outcome.state).replacingOccurrences(of: " ", with: ""),
                    "host": outcome.hostID,
                    "message": outcome.message,
                ]
            },
        ]
    }

    static func isoTime(_ milliseconds: UInt64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}
