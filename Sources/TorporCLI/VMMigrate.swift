import AgentControl
import ArgumentParser
import Wire

/// `torpor vm migrate VM --to HOST [--method …]`: a live migration through the manager, as a task.
struct VMMigrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Move a running VM to another host while it runs; waits for the end, showing its progress.",
        discussion: """
            The manager checks the request (the VM runs, the host is awake and has room after the capacity it \
            holds for other migrations), reserves the room, and runs the migration when the limits per host and \
            per cluster allow. The task ends completed (the VM runs on HOST), aborted or failed (it runs where \
            it was); `torpor task show ID` lists the agent's watchdog steps with their times.
            """
    )

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
    @Option(name: .long, help: "The destination host's id.") var to: String
    @Option(name: .long, help: "live (shared storage), copy-storage-all or copy-storage-inc.")
    var method: Method = .live
    @OptionGroup var options: ManagerOptions
    @OptionGroup var wait: TaskWaitOptions

    func validate() throws {
        guard !to.isEmpty else { throw ValidationError("--to needs a host id") }
    }

    func run() async throws {
        try await wait.run(.migrate(vm: vm, to: to, method: method.wire), options: options)
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
        let client = ClusterClient(options: options)
        let reply = try await client.request(.migrateCancel(vm: vm))
        guard case .commandResult(let result) = reply else {
            throw client.session.unexpected(reply, expected: "CommandResult")
        }
        guard result.isOK else {
            throw client.session.failure(
                result.message.isEmpty ? "\(result.code)" : result.message,
                code: TorporExit.failed
            )
        }
        if options.json {
            Output.printJSON(["vm": vm, "message": result.message])
        } else {
            print(result.message)
        }
    }
}
