import ArgumentParser
import Foundation

/// `torpor dump`.
struct Dump: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the cluster's hierarchy as GraphML (to standard output, or --output FILE)."
    )

    @Option(name: .long, help: "File to write instead of standard output.") var output: String?
    @OptionGroup var options: ManagerOptions

    func run() async throws {
        let graph = try await ClusterTopology.load(options).graphML
        guard let output else {
            print(graph)
            return
        }
        do {
            try graph.write(toFile: output, atomically: true, encoding: .utf8)
        } catch {
            throw ClusterClient(options: options).session.failure(
                "cannot write \(output): \(error.localizedDescription)",
                code: TorporExit.failed
            )
        }
    }
}
