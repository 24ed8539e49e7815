import ArgumentParser
import Wire

/// `torpor vc resume VC [VM]`.
struct VCResume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Resume the cluster's suspended VMs (or one)."
    )

    @Argument(help: "The virtual cluster.") var cluster: String
    @Argument(help: "One VM of it; all of them when omitted.") var vm: String?
    @OptionGroup var options: ManagerOptions
    @OptionGroup var wait: TaskWaitOptions

    func run() async throws {
        try await wait.run(.act(.resume, cluster: cluster, vm: vm ?? ""), options: options)
    }
}
