import ArgumentParser
import Wire

/// `torpor vc destroy VC [VM]`.
struct VCDestroy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "destroy",
        abstract: "Force the cluster's VMs (or one) off and remove them from their hosts; their addresses are released."
    )

    @Argument(help: "The virtual cluster.") var cluster: String
    @Argument(help: "One VM of it; all of them when omitted.") var vm: String?
    @OptionGroup var options: ManagerOptions
    @OptionGroup var wait: TaskWaitOptions

    func run() async throws {
        try await wait.run(.act(.destroy, cluster: cluster, vm: vm ?? ""), options: options)
    }
}
