import AgentControl
import ArgumentParser
import Foundation
import Transport
import Wire

/// `torpor hosts`: the manager's hosts, their state, capacity and usage.
struct Hosts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the manager's hosts: state, connection, capacity, CPU used, VMs, last heartbeat."
    )

    @Option(name: .long, help: "The manager's HOST:PORT.")
    var manager = "127.0.0.1:7700"

    @Flag(name: .long, help: "Print JSON (sorted keys) instead of text.")
    var json = false

    @Option(name: .long, help: "Seconds to wait for the manager to connect and answer.")
    var timeout: Double = 10

    func validate() throws {
        guard HostPort(manager) != nil else {
            throw ValidationError("--manager must be HOST:PORT, got '\(manager)'")
        }
        guard timeout > 0, timeout.isFinite else {
            throw ValidationError("--timeout must be a positive number of seconds")
        }
    }

    func run() async throws {
        let status = try await ManagerQuery.status(manager: manager, json: json, timeout: timeout)
        if json {
            Output.printJSON(HostTable.json(status, address: manager))
        } else {
            print(HostTable.text(status, address: manager))
        }
    }
}
