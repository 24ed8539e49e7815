import AgentControl
import ArgumentParser
import Wire

/// `torpor vm migrate VM [--to HOST] [--method …]`: a live migration through the manager, as a task.
struct VMMigrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Move a running VM to another host while it runs; waits for the end, showing its progress.",
        discussion: """
            The manager checks the request (the VM runs, the host is awake and has room after the capacity it \
            holds for other migrations), reserves the room, and runs the migration when the limits per host and \
            per cluster allow. The task ends completed (the VM runs on HOST), aborted or failed (it runs where \
            it was); `torpor task show ID` lists the agent's watchdog steps with their times.

            It waits for the end however long the migration takes (the agent's watchdog bounds it), unless \
            --no-wait or --wait-timeout. Exit status: 0 the migration completed; 1 it was aborted or failed (the \
            reason is printed) or the request was refused; 64 usage; 69 the manager cannot be reached; 75 \
            --wait-timeout passed first (the migration goes on).
            """
    )

    /// Unlike other tasks', a migration's wait has no default cap: it ends when the migration does.
    struct WaitOptions: ParsableArguments {
        @Flag(name: .long, help: "Return as soon as the task is accepted, printing its id.")
        var noWait = false

        @Option(name: .long, help: "Give up waiting after this many seconds (exit 75); default: until the end.")
        var waitTimeout: Double?

        func validate() throws {
            if let waitTimeout, !(waitTimeout > 0 && waitTimeout.isFinite) {
                throw ValidationError("--wait-timeout must be a positive number of seconds")
            }
        }
    }

    enum Method: String, ExpressibleByArgument, CaseIterable {
        /// Shared storage: memory only.
        case live
        /// Copies every disk too.
        case copyStorageAll = "copy-storage-all"
        /// Copies the disks' changes over a backing image both hosts have.
        case copyStorageInc = "copy-storage-inc"

        var wire: VMCommand.Migration.Method {
            switch self {
            case .live: .live
            case .copyStorageAll: .liveNonSharedFullDisk
            case .copyStorageInc: .liveNonSharedIncrementalDisk
            }
        }
    }

    @Argument(help: "The VM's name.") var vm: String
    @Option(
        name: .long,
        help: "The destination host's id; without it the manager chooses as its placement policy would."
    ) var to: String?
    @Option(name: .long, help: "live (shared storage), copy-storage-all or copy-storage-inc.")
    var method: Method = .live
    @OptionGroup var options: ManagerOptions
    @OptionGroup var wait: WaitOptions

    func validate() throws {
        if let to, to.isEmpty { throw ValidationError("--to needs a host id") }
    }

    func run() async throws {
        let client = ClusterClient(options: options)
        let accepted = try await client.task(.migrate(vm: vm, to: to ?? "", method: method.wire))
        guard !wait.noWait, !accepted.state.isFinished else {
            try client.report(accepted)
            return
        }
        try client.report(
            try await client.wait(for: accepted.id, timeout: wait.waitTimeout, showProgress: !options.json)
        )
    }
}

/// `torpor vm migrate-cancel VM`.
struct VMMigrateCancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-cancel",
        abstract: "Cancel a VM's migration; the VM keeps running where it was (not after a switch to post-copy)."
    )

    @Argument(help: "The VM's name.") var vm: String
    @OptionGroup var options: ManagerOptions

    func run() async throws {
        let result = try await ClusterClient(options: options).commandResult(.migrateCancel(vm: vm))
        if options.json {
            Output.printJSON(["vm": vm, "message": result.message])
        } else {
            print(result.message)
        }
    }
}
