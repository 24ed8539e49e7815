import AgentControl
import ArgumentParser
import Wire

/// `torpor vc info VC`.
struct VCInfo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show a virtual cluster's VMs: state, host, address, size, and why one is not running."
    )

    @Argument(help: "The virtual cluster.") var cluster: String
    @OptionGroup var options: ManagerOptions

    func run() async throws {
        let reply = try await ClusterClient(options: options).clusters(.info(cluster: cluster))
        guard let found = reply.clusters.first else { return }
        if options.json {
            Output.printJSON(ClusterOutput.json(found))
        } else {
            print(ClusterOutput.info(found))
        }
    }
}
