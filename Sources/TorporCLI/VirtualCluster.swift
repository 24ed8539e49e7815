import ArgumentParser
import Wire

/// `torpor vc …`: virtual clusters and their VMs.
struct VirtualCluster: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vc",
        abstract:
            "Define virtual clusters, add VMs to them, start, suspend, resume, shut down or destroy them, and reserve "
            + "capacity for them until a time.",
        subcommands: [
            VCDefine.self, VCUndefine.self, VCAdd.self, VCRemove.self, VCStart.self, VCSuspend.self, VCResume.self,
            VCShutdown.self, VCDestroy.self, VCInfo.self, VCList.self, VCBoot.self, VCReserve.self, VCRenew.self,
            VCRelease.self,
        ]
    )
}

/// How long a command that runs a task waits for it, shared by every such command.
struct TaskWaitOptions: ParsableArguments {
    @Flag(name: .long, help: "Return as soon as the task is accepted, printing its id.")
    var noWait = false

    @Option(name: .long, help: "Seconds to wait for the task to end.")
    var waitTimeout: Double = 300

    func validate() throws {
        guard waitTimeout > 0, waitTimeout.isFinite else {
            throw ValidationError("--wait-timeout must be a positive number of seconds")
        }
    }

    /// Submits `request`, then waits for its task unless --no-wait, and prints the outcome.
    func run(_ request: ClusterRequest, options: ManagerOptions) async throws {
        let client = ClusterClient(options: options)
        let accepted = try await client.task(request)
        guard !noWait, !accepted.state.isFinished else {
            try client.report(accepted)
            return
        }
        try client.report(try await client.wait(for: accepted.id, timeout: waitTimeout, showProgress: !options.json))
    }
}
