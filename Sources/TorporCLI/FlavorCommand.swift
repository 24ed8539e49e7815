import ArgumentParser

/// `torpor flavor …`: named instance types.
struct FlavorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flavor",
        abstract: "List, create and delete flavors: named sizes (vCPUs, memory, disk) for VMs made from images.",
        subcommands: [FlavorList.self, FlavorCreate.self, FlavorDelete.self]
    )
}
