import ArgumentParser
import Wire

/// `torpor vc shutdown VC [VM]`.
struct VCShutdown: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shutdown",
        abstract: "Shut down the cluster's VMs (or one) gracefully; they stay defined and keep their addresses."
    )

    @Argument(help: "The virtual cluster.") var cluster: String
    @Argument(help: "One VM of it; all of them when omitted.") var vm: String?
    @OptionGroup var options: ManagerOptions
    @OptionGroup var wait: TaskWaitOptions

    func run() async throws {
        try await wait.run(.act(.shutdown, cluster: cluster, vm: vm ?? ""), options: options)
    }
}
