import AgentControl
import ArgumentParser
import Wire

/// `torpor host cordon HOST [--reason TEXT]`: out of service for maintenance; its VMs keep running.
struct HostCordon: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cordon",
        abstract: "Take a host out of service: no VM is placed or migrated onto it, the energy saver leaves it alone.",
        discussion: """
            Its VMs keep running; `torpor host drain` moves them away. Recorded by the manager, so it holds across \
            a restart or a failover until `torpor host uncordon`. `torpor hosts` marks it.
            """
    )

    @Argument(help: "The host's id, as `torpor hosts` lists it.") var host: String
    @Option(name: .long, help: "Why, shown by `torpor hosts` (at most 255 bytes).") var reason = ""
    @OptionGroup var options: ManagerOptions

    func run() async throws {
        let client = ClusterClient(options: options)
        let result = try await client.commandResult(.cordon(host: host, reason: reason))
        HostMaintenance.print(result, host: host, options: options)
    }
}

/// `torpor host uncordon HOST`.
struct HostUncordon: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uncordon",
        abstract: "Put a cordoned host back in service."
    )

    @Argument(help: "The host's id, as `torpor hosts` lists it.") var host: String
    @OptionGroup var options: ManagerOptions

    func run() async throws {
        let client = ClusterClient(options: options)
        let result = try await client.commandResult(.uncordon(host: host))
        HostMaintenance.print(result, host: host, options: options)
    }
}

/// `torpor host remove HOST`: forget a retired host.
struct HostRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Forget a retired host: no longer listed, counted or woken.",
        discussion: """
            For a machine that leaves the cluster for good. The manager refuses while its agent is connected (stop \
            the agent first), while a migration goes to or from it, or while a VM is placed on it (`torpor host \
            drain` moves running ones away). VMs stopped there are placed anew when started. If the agent comes \
            back anyway, the host joins again as a new one.

            A host that died with VMs on it (listed FAILED, its VMs unreachable) cannot be drained: with \
            --confirm-off you confirm the machine is off and stays off (unplugged, its disks wiped), and its VMs are \
            recorded stopped, without a host, to be started elsewhere. Were it still running them, they would run \
            twice.
            """
    )

    @Argument(help: "The host's id, as `torpor hosts` lists it.") var host: String
    @Flag(name: .customLong("confirm-off"), help: "Confirm the machine is off for good: its VMs are recorded stopped.")
    var confirmOff = false
    @OptionGroup var options: ManagerOptions

    func run() async throws {
        let client = ClusterClient(options: options)
        let result = try await client.commandResult(.removeHost(host: host, confirmedOff: confirmOff))
        HostMaintenance.print(result, host: host, options: options)
    }
}

/// `torpor host drain HOST`: cordon, then live-migrate every running VM away to where the manager's placement
/// policy puts it, and wait for every migration to end.
struct HostDrain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain",
        abstract: "Cordon a host and live-migrate its running VMs to other hosts, waiting for each to end.",
        discussion: """
            The manager chooses each VM's destination as its placement policy would, among the awake hosts in \
            service, and runs the migrations within its limits per host and per cluster. A VM that is not running \
            (suspended, shut down) cannot move while it runs and is listed as left. Running it again drains what \
            is left. The host stays cordoned until `torpor host uncordon`.

            Exit status: 0 every VM left the host; 1 a migration failed or was refused, or a VM is left (each is \
            listed with why); 64 usage; 69 the manager cannot be reached; 75 --wait-timeout passed first (the \
            migrations go on).
            """
    )

    @Argument(help: "The host's id, as `torpor hosts` lists it.") var host: String
    @Option(name: .long, help: "Why, shown by `torpor hosts` (at most 255 bytes).") var reason = "drained"
    @Option(name: .long, help: "live (shared storage), copy-storage-all or copy-storage-inc.")
    var method: VMMigrate.Method = .live
    @Option(name: .long, help: "Give up waiting after this many seconds (exit 75); default: until every one ends.")
    var waitTimeout: Double?
    @OptionGroup var options: ManagerOptions

    func validate() throws {
        if let waitTimeout, !(waitTimeout > 0 && waitTimeout.isFinite) {
            throw ValidationError("--wait-timeout must be a positive number of seconds")
        }
    }

    /// One VM's part in the drain.
    struct Row {
        var vm: String
        var outcome: String
        var host: String
        var detail: String
        var task: String = ""
    }

    func run() async throws {
        let client = ClusterClient(options: options)
        let cordoned = try await client.commandResult(.cordon(host: host, reason: reason))
        if !options.json { print(cordoned.message) }
        let onHost = try await client.clusters(.list).clusters.flatMap(\.vms).filter { $0.hostID == host }
        var rows: [Row] = []
        var accepted: [(index: Int, taskID: String)] = []
        for vm in onHost.sorted(by: { $0.name < $1.name }) {
            guard vm.state == "running" else {
                rows.append(
                    Row(vm: vm.name, outcome: "left", host: host, detail: "\(vm.state): only a running VM moves")
                )
                continue
            }
            let reply = try await client.request(.migrate(vm: vm.name, to: "", method: method.wire))
            switch reply {
            case .taskStatus(let status):
                accepted.append((rows.count, status.id))
                let destination = status.migration?.destinationHostID ?? ""
                rows.append(Row(vm: vm.name, outcome: "migrating", host: destination, detail: "", task: status.id))
            case .commandResult(let refusal):
                rows.append(Row(vm: vm.name, outcome: "refused", host: host, detail: refusal.message))
            default:
                throw client.session.unexpected(reply, expected: "TaskStatus")
            }
        }
        let deadline = waitTimeout.map { ContinuousClock.now + .milliseconds(Int64($0 * 1000)) }
        var timedOut = false
        for (index, taskID) in accepted {
            // What is left of --wait-timeout, fractions included (a whole-second count cut 10.7 s to 10).
            let left = deadline.map { max(0.001, ($0 - ContinuousClock.now) / .seconds(1)) }
            let status = try await client.wait(for: taskID, timeout: left, showProgress: false)
            guard status.state.isFinished else {
                timedOut = true
                rows[index].outcome = "migrating"
                rows[index].detail = status.message
                continue
            }
            let outcome = status.outcomes.first
            rows[index].outcome = status.state == .succeeded ? "migrated" : "failed"
            rows[index].host = outcome?.hostID ?? rows[index].host
            rows[index].detail = outcome?.message ?? status.message
        }
        report(rows)
        if timedOut {
            throw client.session.failure(
                "--wait-timeout passed: migrations off \(host) go on (`torpor task show ID`)",
                code: TorporExit.timedOut
            )
        }
        let stayed = rows.filter { $0.outcome != "migrated" }
        guard stayed.isEmpty else {
            throw client.session.failure(
                "\(host) still holds \(stayed.count) VM\(stayed.count == 1 ? "" : "s"): "
                    + stayed.map { "\($0.vm) (\($0.outcome))" }.joined(separator: ", "),
                code: TorporExit.failed
            )
        }
    }

    private func report(_ rows: [Row]) {
        if options.json {
            Output.printJSON([
                "host": host,
                "cordoned": true,
                "vms": rows.map { row -> [String: Any] in
                    var entry: [String: Any] = [
                        "vm": row.vm, "outcome": row.outcome, "host": row.host, "detail": row.detail,
                    ]
                    if !row.task.isEmpty { entry["task"] = row.task }
                    return entry
                },
            ])
        } else if rows.isEmpty {
            print("\(host) runs no VM")
        } else {
            print(
                Output.table(
                    [["VM", "OUTCOME", "HOST", "DETAIL"]]
                        + rows.map { [$0.vm, $0.outcome, $0.host, $0.detail.isEmpty ? "-" : $0.detail] }
                )
            )
        }
    }
}

/// What cordon, uncordon and remove share: printing the manager's answer.
enum HostMaintenance {
    static func print(_ result: CommandResult, host: String, options: ManagerOptions) {
        if options.json {
            Output.printJSON(["host": host, "message": result.message])
        } else {
            Swift.print(result.message)
        }
    }
}
