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
        let energy = try await Self.fetch(ClusterClient(options: options).session)
        if options.json {
            Output.printJSON(EnergyOutput.json(energy))
        } else {
            print(EnergyOutput.text(energy))
        }
    }

    /// Every host's account, page by page on one connection; failures are printed and thrown as the matching
    /// ExitCode.
    static func fetch(_ session: AgentSession, pageLimit: UInt16 = 0) async throws -> EnergyReply {
        try await session.run { connection in
            do {
                return try await HostPaging.collect(limit: pageLimit) { page in
                    let reply = try await session.request(.energyRequest(EnergyRequest(page: page)), on: connection)
                    guard case .energyReply(let energy) = reply else {
                        throw session.unexpected(reply, expected: "EnergyReply")
                    }
                    return energy
                }
            } catch let error as HostPagingError {
                throw session.failure("manager: \(error)", code: TorporExit.failed)
            }
        }
    }
}
