import AgentControl
import ArgumentParser

/// `torpor image list`.
struct ImageList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the images: format, file size, disk size, VMs using them, SHA-256 and path."
    )

    @OptionGroup var options: ManagerOptions

    func run() async throws {
        let reply = try await ClusterClient(options: options).catalog(.imageList)
        if options.json {
            Output.printJSON(reply.images.map(CatalogOutput.json))
        } else if !reply.images.isEmpty {
            print(CatalogOutput.imageTable(reply.images))
        }
    }
}
