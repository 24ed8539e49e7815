import AgentControl
import ArgumentParser

/// `torpor image add NAME PATH`.
struct ImageAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add an image file to the catalog.",
        discussion: """
            PATH is the file as the manager and every host see it (shared storage). The manager reads its format \
            and sizes with qemu-img and its SHA-256; a missing file, a file that is not a qcow2 or raw disk, an \
            overlay of another file, or a name or path already in the catalog is refused. VMs never write it: \
            each gets its own copy-on-write overlay. Reading a large image takes a while: torpor waits up to 10 \
            minutes (or --timeout, if longer) for the answer.
            """
    )

    @Argument(help: "The image's name.") var name: String
    @Argument(help: "Its absolute path on the shared storage.") var path: String
    @OptionGroup var options: ManagerOptions

    func run() async throws {
        let client = ClusterClient(options: options)
        // The manager reads the whole file for its checksum before it answers.
        let reply = try await client.request(.imageAdd(name: name, path: path), answerWithin: 600)
        guard case .catalogReply(let catalog) = reply else {
            throw client.session.unexpected(reply, expected: "CatalogReply")
        }
        if options.json {
            Output.printJSON(catalog.images.first.map(CatalogOutput.json) ?? [:])
        } else {
            print(CatalogOutput.imageTable(catalog.images))
        }
    }
}
