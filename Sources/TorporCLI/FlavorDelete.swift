import ArgumentParser

/// `torpor flavor delete NAME`.
struct FlavorDelete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete a flavor no VM was made from (refused while one exists)."
    )

    @Argument(help: "The flavor's name.") var name: String
    @OptionGroup var options: ManagerOptions

    func run() async throws {
        try await ClusterClient(options: options).result(.flavorDelete(name: name))
    }
}
