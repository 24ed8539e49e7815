import AgentControl
import ArgumentParser

/// `torpor tree`.
struct Tree: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the cluster as a tree: group leader, group managers, hosts, VMs."
    )

    @OptionGroup var options: ManagerOptions

    func run() async throws {
        let topology = try await ClusterTopology.load(options)
        if options.json {
            Output.printJSON(topology.json)
        } else {
            print(topology.text)
        }
    }
}
