import ArgumentParser
import Wire

/// `torpor vc suspend VC [VM]`.
struct VCSuspend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suspend",
        abstract: "Suspend the cluster's running VMs (or one)."
    )

    @Argument(help: "The virtual cluster.") var cluster: String
    @Argument(help: "One VM of it; all of them when omitted.") var vm: String?
    @OptionGroup var options: ManagerOptions
    @OptionGroup var wait: TaskWaitOptions

    func run() async throws {
        try await wait.run(.act(.suspend, cluster: cluster, vm: vm ?? ""), options: options)
    }
}
