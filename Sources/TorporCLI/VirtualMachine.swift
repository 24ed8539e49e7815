import AgentControl
import ArgumentParser
import Wire

/// `torpor vm …`.
struct VirtualMachine: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vm",
        abstract: "Look at one VM, or move it to another host.",
        subcommands: [VMInfo.self, VMMigrate.self, VMMigrateCancel.self]
    )
}

/// `torpor vm info VM`.
struct VMInfo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show one VM: cluster, state, host, address, size, and why it is not running."
    )

    @Argument(help: "The VM's name.") var vm: String
    @OptionGroup var options: ManagerOptions

    func run() async throws {
        let reply = try await ClusterClient(options: options).clusters(.vmInfo(vm: vm))
        guard let cluster = reply.clusters.first, let found = cluster.vms.first else { return }
        if options.json {
            var object = ClusterOutput.json(found)
            object["cluster"] = cluster.name
            Output.printJSON(object)
        } else {
            print(Output.table(ClusterOutput.vmRows([found], cluster: cluster.name)))
        }
    }
}
