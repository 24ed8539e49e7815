import ArgumentParser
import Wire

/// `torpor vc remove VC VM`.
struct VCRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Destroy a VM, remove it from its host and from the cluster, and release its address."
    )

    @Argument(help: "The virtual cluster.") var cluster: String
    @Argument(help: "The VM.") var vm: String
    @OptionGroup var options: ManagerOptions
    @OptionGroup var wait: TaskWaitOptions

    func run() async throws {
        try await wait.run(.remove(cluster: cluster, vm: vm), options: options)
    }
}
