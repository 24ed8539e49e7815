import AgentControl
import ArgumentParser
import Wire

/// `torpor flavor create NAME --vcpus N --memory SIZE [--disk SIZE]`.
struct FlavorCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a flavor.",
        discussion: "Its id is a number that stays the flavor's across manager restarts and is never reused."
    )

    @Argument(help: "The flavor's name.") var name: String
    @Option(name: .long, help: "Virtual CPUs.") var vcpus: UInt16
    @Option(name: .long, help: "Memory: \(ByteSize.help).") var memory: ByteSize
    @Option(name: .long, help: "Disk: \(ByteSize.help); 0 or absent: the image's own size.")
    var disk = ByteSize(bytes: 0)
    @OptionGroup var options: ManagerOptions

    func run() async throws {
        let spec = ClusterRequest.FlavorSpec(
            name: name,
            virtualCPUs: vcpus,
            memoryBytes: memory.bytes,
            diskBytes: disk.bytes
        )
        let reply = try await ClusterClient(options: options).catalog(.flavorCreate(spec))
        if options.json {
            Output.printJSON(reply.flavors.first.map(CatalogOutput.json) ?? [:])
        } else {
            print(CatalogOutput.flavorTable(reply.flavors))
        }
    }
}
