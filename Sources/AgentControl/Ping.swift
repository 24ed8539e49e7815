import ArgumentParser
import Foundation
import Transport

/// `agentctl ping`: one heartbeat round trip.
struct Ping: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure the round-trip time to the agent.")

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let session = AgentSession(options: options)
        let rtt = try await session.run { connection in try await connection.ping(timeout: options.timeoutDuration) }
        let milliseconds = rtt / .milliseconds(1)
        if options.json {
            Output.printJSON(["agent": options.agent, "roundTripMilliseconds": milliseconds])
        } else {
            print("\(options.agent): round trip \(String(format: "%.3f", milliseconds)) ms")
        }
    }
}
