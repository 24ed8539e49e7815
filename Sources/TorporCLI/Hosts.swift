import AgentControl
import ArgumentParser
import Foundation
import Transport
import Wire

/// `torpor hosts`: the manager's hosts, their state, capacity and usage.
struct Hosts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the manager's hosts: state, connection, capacity, CPU used, VMs, last report and heartbeat.",
        discussion: """
            A host that is not connected (asleep, waking, gone) or FAILED shows "-" for CPU used and VMs: its last \
            numbers are as old as its last report (REPORT), so they are not shown as current. In JSON such a host \
            has "stale": true and its last numbers as lastVms and lastCpuUsedCores. The hosts are read page by \
            page, so any number of them is listed.
            """
    )

    @OptionGroup var options: ManagerOptions

    func run() async throws {
        let status = try await ManagerQuery.status(options)
        if options.json {
            Output.printJSON(HostTable.json(status, address: options.manager))
        } else {
            print(HostTable.text(status, address: options.manager))
        }
    }
}
