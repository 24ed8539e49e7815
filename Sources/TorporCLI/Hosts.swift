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

    @OptionGroup var options: ManagerOptions

    func run() async throws {
        let status = try await ManagerQuery.status(
            manager: options.manager,
            json: options.json,
            timeout: options.timeout
        )
        if options.json {
            Output.printJSON(HostTable.json(status, address: options.manager))
        } else {
            print(HostTable.text(status, address: options.manager))
        }
    }
}
