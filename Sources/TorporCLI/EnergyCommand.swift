import AgentControl
import ArgumentParser
import Wire

/// `torpor energy`: what the hosts used, what they would have used never sleeping, and the difference.
struct EnergyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "energy",
        abstract: "Show the energy each host used since the manager's first power reading and what sleeping saved."
    )

    @OptionGroup var options: ManagerOptions

    func run() async throws {
        let session = ClusterClient(options: options).session
        let reply = try await session.run { connection in
            try await session.request(.energyRequest(EnergyRequest()), on: connection)
        }
        guard case .energyReply(let energy) = reply else {
            throw session.unexpected(reply, expected: "EnergyReply")
        }
        if options.json {
            Output.printJSON(EnergyOutput.json(energy))
        } else {
            print(EnergyOutput.text(energy))
        }
    }
}
