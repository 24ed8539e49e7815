import AgentControl
import ArgumentParser
import Foundation
import Wire

/// `torpor cluster …`: the cluster as a whole.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Act on the whole cluster.",
        subcommands: [ClusterConsolidate.self]
    )
}

/// `torpor cluster consolidate [--dry-run]`.
struct ClusterConsolidate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consolidate",
        abstract: "Pack VMs onto fewer hosts: print the plan, the hosts it frees and its cost, and start it.",
        discussion: """
            The manager plans with its consolidation policy (consolidation.policy) on the VMs' estimates. A plan \
            runs only if it frees at least one host and its cost (the migrations' estimated time) is within \
            consolidation.budget; the freed hosts are then put to sleep by the energy saver. With --dry-run the plan \
            is only printed. Exits 1 when a plan was wanted but not started (it frees no host, it is over the budget, \
            or the manager is busy with other migrations).
            """
    )

    @Flag(help: "Print the plan without starting it.") var dryRun = false
    @OptionGroup var options: ManagerOptions

    func run() async throws {
        let client = ClusterClient(options: options)
        let reply = try await client.request(.consolidate(dryRun: dryRun))
        guard case .consolidationReply(let plan) = reply else {
            throw client.session.unexpected(reply, expected: "ConsolidationReply")
        }
        if options.json {
            Output.printJSON(ConsolidationOutput.json(plan, dryRun: dryRun))
        } else {
            print(ConsolidationOutput.text(plan, dryRun: dryRun))
        }
        // Nothing to do is not a failure in a dry run; a run that starts nothing is.
        if !dryRun, !plan.started { throw ExitCode(TorporExit.failed) }
    }
}

/// How a consolidation plan is shown.
enum ConsolidationOutput {
    static func text(_ plan: ConsolidationReply, dryRun: Bool) -> String {
        var lines: [String] = []
        let moves = "\(plan.moveCount) migration\(plan.moveCount == 1 ? "" : "s")"
        let freed = plan.hostsFreed.isEmpty ? "no host" : plan.hostsFreed.joined(separator: ", ")
        lines.append("consolidation plan (\(plan.policy)): \(moves), frees \(freed)")
        lines.append(
            "cost: \(Output.bytes(Double(plan.costBytes))) to copy, about \(duration(plan.costSeconds)) of migration"
        )
        lines.append(
            "hosts in use: \(plan.hostsUsedBefore) now, \(plan.hostsUsedAfter) after (at least \(plan.hostsLowerBound))"
        )
        if !plan.moves.isEmpty {
            var rows = [["VM", "FROM", "TO", "MEMORY", "COST", "TIME"] + (dryRun ? [] : ["TASK"])]
            for move in plan.moves {
                rows.append(
                    [
                        move.vm, move.fromHost, move.toHost, Output.bytes(Double(move.memoryBytes)),
                        Output.bytes(Double(move.costBytes)), duration(move.costSeconds),
                    ] + (dryRun ? [] : [move.taskID.isEmpty ? "-" : move.taskID])
                )
            }
            lines.append("")
            lines.append(Output.table(rows))
            if plan.moveCount > plan.moves.count {
                lines.append("(the first \(plan.moves.count) of \(plan.moveCount) migrations)")
            }
            lines.append("")
        }
        if plan.started {
            let started = plan.moves.filter { !$0.taskID.isEmpty }.count
            lines.append(
                plan.moveCount > plan.moves.count
                    ? "started the plan's \(moves)" : "started \(started) of \(moves)"
            )
        } else if dryRun {
            lines.append(plan.reason.isEmpty ? "dry run: would run" : "dry run: would not run: \(plan.reason)")
        } else {
            lines.append("not started: \(plan.reason.isEmpty ? "no migration could be started" : plan.reason)")
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ plan: ConsolidationReply, dryRun: Bool) -> [String: Any] {
        var object: [String: Any] = [
            "policy": plan.policy,
            "dryRun": dryRun,
            "started": plan.started,
            "moves": plan.moves.map { move -> [String: Any] in
                var entry: [String: Any] = [
                    "vm": move.vm, "from": move.fromHost, "to": move.toHost,
                    "memoryBytes": Int(clamping: move.memoryBytes), "costBytes": Int(clamping: move.costBytes),
                    "costSeconds": move.costSeconds,
                ]
                if !move.taskID.isEmpty { entry["task"] = move.taskID }
                return entry
            },
            "moveCount": Int(plan.moveCount),
            "hostsFreed": plan.hostsFreed,
            "costBytes": Int(clamping: plan.costBytes),
            "costSeconds": plan.costSeconds,
            "hostsUsedBefore": Int(plan.hostsUsedBefore),
            "hostsUsedAfter": Int(plan.hostsUsedAfter),
            "hostsLowerBound": Int(plan.hostsLowerBound),
        ]
        if !plan.reason.isEmpty { object["reason"] = plan.reason }
        return object
    }

    /// "45 s", "12 min", "2.5 h".
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "unbounded" }
        if seconds < 120 { return "\(Int(seconds.rounded())) s" }
        if seconds < 7200 { return "\(Int((seconds / 60).rounded())) min" }
        return String(format: "%.1f h", seconds / 3600)
    }
}
