import ArgumentParser
import Foundation
import Transport
import Wire

/// `agentctl manager`: the manager's view of its hosts (liveness, report freshness, ring fill).
struct ManagerStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "manager",
        abstract: "Show the manager's hosts: connection, last heartbeat and report, ring fill, usage."
    )

    @OptionGroup var options: GlobalOptions

    @Option(name: .long, help: "The manager's HOST:PORT.")
    var manager = "127.0.0.1:7700"

    func validate() throws {
        guard HostPort(manager) != nil else {
            throw ValidationError("--manager must be HOST:PORT, got '\(manager)'")
        }
    }

    func run() async throws {
        let session = AgentSession(options: options, endpoint: manager, label: "manager")
        let reply = try await session.run { connection in
            try await session.request(.managerStatusRequest(ManagerStatusRequest()), on: connection)
        }
        guard case .managerStatusReply(let status) = reply else {
            throw session.unexpected(reply, expected: "ManagerStatusReply")
        }
        if options.json {
            Output.printJSON(Self.json(status, address: manager))
        } else {
            print(Self.text(status, address: manager))
        }
    }

    static func json(_ status: ManagerStatusReply, address: String) -> [String: Any] {
        [
            "manager": [
                "address": address,
                "managerId": status.managerID,
                "version": status.softwareVersion,
                "uptimeSeconds": Int(clamping: status.uptimeSeconds),
                "heartbeatTimeoutMilliseconds": Int(status.heartbeatTimeoutMilliseconds),
            ],
            "hosts": status.hosts.map { host -> [String: Any] in
                var entry: [String: Any] = [
                    "hostId": host.hostID,
                    "hostname": host.hostname,
                    "state": ManagerHostFormat.stateName(host.state),
                    "connected": host.connected,
                    "millisecondsSinceHeartbeat": Int(clamping: host.millisecondsSinceHeartbeat),
                    "ring": ["fill": Int(host.ringFill), "capacity": Int(host.ringCapacity)],
                    "vms": Int(host.vmCount),
                    "capacity": [
                        "cores": Int(host.capacity.cores),
                        "memoryBytes": Int(clamping: host.capacity.memoryBytes),
                        "nicRxBytesPerSecond": Int(clamping: host.capacity.nicRxBytesPerSecond),
                        "nicTxBytesPerSecond": Int(clamping: host.capacity.nicTxBytesPerSecond),
                    ],
                ]
                // Absent until the host's first report since it joined.
                if let age = host.millisecondsSinceReport { entry["millisecondsSinceReport"] = Int(clamping: age) }
                if let usage = host.usage {
                    entry["usage"] = [
                        "cpuCores": Double(usage.cpuCoresInUse),
                        "memoryBytes": Int(clamping: usage.memoryInUseBytes),
                        "networkRxBytesPerSecond": Double(usage.networkRxBytesPerSecond),
                        "networkTxBytesPerSecond": Double(usage.networkTxBytesPerSecond),
                    ]
                }
                return entry
            },
        ]
    }

    static func text(_ status: ManagerStatusReply, address: String) -> String {
        let timeout = Double(status.heartbeatTimeoutMilliseconds) / 1000
        let header =
            "manager  \(status.managerID) at \(address), version \(status.softwareVersion), "
            + "up \(status.uptimeSeconds) s, heartbeat timeout \(String(format: "%.1f", timeout)) s"
        guard !status.hosts.isEmpty else { return header + "\n\nno hosts" }
        var rows = [["HOST", "STATE", "CONNECTED", "LAST HEARTBEAT", "LAST REPORT", "RING", "VMS", "CPU USED/CORES"]]
        for host in status.hosts {
            let cpu = host.usage.map { String(format: "%.2f", $0.cpuCoresInUse) } ?? "-"
            rows.append([
                host.hostname.isEmpty ? host.hostID : host.hostname,
                ManagerHostFormat.stateName(host.state),
                host.connected ? "yes" : "no",
                ManagerHostFormat.age(milliseconds: host.millisecondsSinceHeartbeat),
                host.millisecondsSinceReport.map { ManagerHostFormat.age(milliseconds: $0) } ?? "never",
                "\(host.ringFill)/\(host.ringCapacity)",
                "\(host.vmCount)",
                "\(cpu)/\(host.capacity.cores)",
            ])
        }
        return header + "\n\n" + Output.table(rows)
    }
}

/// How the CLIs show a manager's hosts (agentctl manager, torpor hosts).
public enum ManagerHostFormat {
    public static func stateName(_ state: ManagerStatusReply.HostState) -> String {
        switch state {
        case .active: "ACTIVE"
        case .sleeping: "SLEEPING"
        case .waking: "WAKING"
        case .failed: "FAILED"
        }
    }

    /// "1.2 s ago", "3 min ago", "2.5 h ago".
    public static func age(milliseconds: UInt64) -> String {
        let seconds = Double(milliseconds) / 1000
        if seconds < 60 { return String(format: "%.1f s ago", seconds) }
        if seconds < 3600 { return String(format: "%.0f min ago", seconds / 60) }
        return String(format: "%.1f h ago", seconds / 3600)
    }
}
