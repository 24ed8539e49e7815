import AgentControl
import ArgumentParser

/// `torpor flavor list`.
struct FlavorList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the flavors.")

    @OptionGroup var options: ManagerOptions

    func run() async throws {
        let reply = try await ClusterClient(options: options).catalog(.flavorList)
        if options.json {
            Output.printJSON(reply.flavors.map(CatalogOutput.json))
        } else if !reply.flavors.isEmpty {
            print(CatalogOutput.flavorTable(reply.flavors))
        }
    }
}
