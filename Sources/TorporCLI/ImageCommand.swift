import ArgumentParser

/// `torpor image …`: the catalog of disk images on storage the hosts share.
struct ImageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "List, add and remove the disk images VMs are made from (qcow2 or raw, on shared storage).",
        subcommands: [ImageList.self, ImageAdd.self, ImageRemove.self]
    )
}
