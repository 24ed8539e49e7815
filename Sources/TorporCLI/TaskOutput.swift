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
        if let migration = status.migration { lines += migrationLines(migration) }
        return lines.joined(separator: "\n")
    }

    static func word(_ phase: TaskMigration.Phase) -> String {
        switch phase {
        case .waiting: "waiting"
        case .starting: "starting"
        case .copying: "copying"
        case .postCopy: "post-copy"
        case .completed: "completed"
        case .aborted: "aborted"
        case .failed: "failed"
        }
    }

    static func word(_ method: VMCommand.Migration.Method) -> String {
        switch method {
        case .live: "live"
        case .offline: "offline"
        case .liveNonSharedFullDisk: "copy-storage-all"
        case .liveNonSharedIncrementalDisk: "copy-storage-inc"
        }
    }

    /// The watchdog's step names, as in agent.yaml's `migration.steps`.
    static func word(_ step: MigrationProgress.Step) -> String {
        switch step {
        case .raiseDowntime: "raise_downtime"
        case .raiseBandwidth: "raise_bandwidth"
        case .postCopy: "post_copy"
        case .pause: "pause"
        case .abort: "abort"
        case .resume: "resume"
        }
    }

    /// "h1 → h2 (live, operator): copying", then the counters and the steps.
    static func migrationLines(_ migration: TaskMigration) -> [String] {
        var lines = [
            "migration \(migration.sourceHostID) → \(migration.destinationHostID) (\(word(migration.method)), "
                + "\(migration.reason.isEmpty ? "no reason given" : migration.reason)): \(word(migration.phase))"
        ]
        if migration.startedAtUnixMilliseconds > 0 {
            lines.append("  started \(isoTime(migration.startedAtUnixMilliseconds)); \(counters(migration))")
        }
        if !migration.steps.isEmpty {
            lines.append("  watchdog steps: \(steps(migration))")
        }
        return lines
    }

    /// "512 MiB of 1 GiB, 300 MiB left, dirty 12 MiB/s, iteration 3, 12.3 s".
    static func counters(_ migration: TaskMigration) -> String {
        var parts: [String] = []
        if migration.dataTotalBytes > 0 {
            parts.append("\(bytes(migration.dataProcessedBytes)) of \(bytes(migration.dataTotalBytes))")
            parts.append("\(bytes(migration.dataRemainingBytes)) left")
        }
        if migration.memoryDirtyRateBytesPerSecond > 0 {
            parts.append("dirty \(bytes(migration.memoryDirtyRateBytesPerSecond))/s")
        }
        if migration.iteration > 0 { parts.append("iteration \(migration.iteration)") }
        parts.append(seconds(migration.elapsedMilliseconds))
        return parts.joined(separator: ", ")
    }

    /// "raise_downtime at 31.0 s, abort at 90.1 s".
    static func steps(_ migration: TaskMigration) -> String {
        migration.steps.map { "\(word($0.step)) at \(seconds($0.atMilliseconds))" }.joined(separator: ", ")
    }

    static func seconds(_ milliseconds: UInt64) -> String {
        String(format: "%.1f s", Double(milliseconds) / 1000)
    }

    static func bytes(_ value: UInt64) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB"]
        var amount = Double(value)
        var unit = 0
        while amount >= 1024, unit < units.count - 1 {
            amount /= 1024
            unit += 1
        }
        return unit == 0 ? "\(value) bytes" : String(format: "%.1f", amount) + " " + units[unit]
    }

    /// What `torpor` shows while it waits for a task: `key` changes when the task's step does, `text` also with
    /// a migration's counters.
    static func progressLine(_ status: TaskStatus) -> (key: String, text: String) {
        let head = "\(status.id) \(word(status.state)): \(status.message)"
        guard let migration = status.migration else { return (head, head) }
        var text = "\(status.id) \(word(migration.phase)) \(migration.sourceHostID) → \(migration.destinationHostID)"
        if migration.startedAtUnixMilliseconds > 0 { text += ": " + counters(migration) }
        if !migration.steps.isEmpty { text += "; steps: " + steps(migration) }
        let key = "\(head) \(word(migration.phase)) \(migration.steps.count)"
        return (key, migration.phase == .waiting ? head : text)
    }

    /// Progress on standard error: rewritten in place on a terminal, else one line each time the task's step
    /// changes (a migration's counters change every second).
    struct ProgressLine {
        let terminal: Bool
        private var lastKey = ""
        private var lastText = ""
        private var open = false

        init(terminal: Bool) {
            self.terminal = terminal
        }

        mutating func show(_ line: (key: String, text: String), elapsedSeconds: Int64) {
            if terminal {
                guard line.text != lastText || line.key != lastKey else { return }
                FileHandle.standardError.write(Data("\r\u{1B}[K\(line.text) (\(elapsedSeconds) s)".utf8))
                open = true
            } else {
                guard line.key != lastKey else { return }
                FileHandle.standardError.write(Data("\(line.text) (\(elapsedSeconds) s)\n".utf8))
            }
            lastKey = line.key
            lastText = line.text
        }

        /// Ends a line left open on a terminal.
        mutating func finish() {
            if open { FileHandle.standardError.write(Data("\n".utf8)) }
            open = false
        }
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
        ].merging(status.migration.map { ["migration": migrationJSON($0)] } ?? [:]) { first, _ in first }
    }

    static func migrationJSON(_ migration: TaskMigration) -> [String: Any] {
        [
            "source": migration.sourceHostID,
            "destination": migration.destinationHostID,
            "method": word(migration.method),
            "phase": word(migration.phase),
            "reason": migration.reason,
            "startedAt": migration.startedAtUnixMilliseconds > 0 ? isoTime(migration.startedAtUnixMilliseconds) : "",
            "elapsedMilliseconds": migration.elapsedMilliseconds,
            "dataTotalBytes": migration.dataTotalBytes,
            "dataProcessedBytes": migration.dataProcessedBytes,
            "dataRemainingBytes": migration.dataRemainingBytes,
            "memoryDirtyRateBytesPerSecond": migration.memoryDirtyRateBytesPerSecond,
            "iteration": migration.iteration,
            "steps": migration.steps.map {
                ["step": word($0.step), "atMilliseconds": $0.atMilliseconds] as [String: Any]
            },
        ]
    }

    static func isoTime(_ milliseconds: UInt64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}
