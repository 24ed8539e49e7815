import AgentControl
import ArgumentParser
import Wire

/// `torpor vc list`.
struct VCList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the virtual clusters.")

    @OptionGroup var options: ManagerOptions

    func run() async throws {
        let reply = try await ClusterClient(options: options).clusters(.list)
        if options.json {
            Output.printJSON(reply.clusters.map(ClusterOutput.json))
        } else if !reply.clusters.isEmpty {
            print(ClusterOutput.list(reply))
        }
    }
}
