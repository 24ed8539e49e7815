import ArgumentParser
import Wire

/// `torpor vc undefine VC`.
struct VCUndefine: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "undefine",
        abstract: "Destroy every VM of the cluster, remove them from their hosts, and delete the cluster.",
        // pragma_boot's name for it.
        aliases: ["clean"]
    )

    @Argument(help: "The virtual cluster.") var cluster: String
    @OptionGroup var options: ManagerOptions
    @OptionGroup var wait: TaskWaitOptions

    func run() async throws {
        try await wait.run(.undefine(cluster: cluster), options: options)
    }
}
