import ArgumentParser
import Wire

/// `torpor vc define VC`.
struct VCDefine: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "define", abstract: "Define an empty virtual cluster.")

    @Argument(help: "Name: 1–64 of A–Z a–z 0–9 . _ -") var cluster: String
    @OptionGroup var options: ManagerOptions

    func run() async throws {
        let client = ClusterClient(options: options)
        try client.report(try await client.task(.define(cluster: cluster)))
    }
}
