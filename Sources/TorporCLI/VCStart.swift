import ArgumentParser
import Wire

/// `torpor vc start VC [VM]`.
struct VCStart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Start the cluster's VMs (or one): place them on hosts and start them there."
    )

    @Argument(help: "The virtual cluster.") var cluster: String
    @Argument(help: "One VM of it; all of them when omitted.") var vm: String?
    @OptionGroup var options: ManagerOptions
    @OptionGroup var wait: TaskWaitOptions

    func run() async throws {
        try await wait.run(.act(.start, cluster: cluster, vm: vm ?? ""), options: options)
    }
}
