import ArgumentParser

/// `torpor image remove NAME`.
struct ImageRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove an image from the catalog (its file stays); refused while a VM's overlay uses it."
    )

    @Argument(help: "The image's name.") var name: String
    @OptionGroup var options: ManagerOptions

    func run() async throws {
        try await ClusterClient(options: options).result(.imageRemove(name: name))
    }
}
