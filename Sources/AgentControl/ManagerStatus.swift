import ArgumentParser
import Foundation
import Transport
import Wire

/// `agentctl manager`: the manager's view of its hosts (liveness, report freshness, ring fill).
struct ManagerStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "manager",
        abstract: "Show the manager's hosts: connection, last heartbeat and report, ring fill, usage.",
        discussion: """
            The VMs and CPU of a host that is not connected or FAILED are its last known ones: shown as "-" beside \
            the age of the last report, and in JSON as lastVms and lastUsage with "stale": true.
            """
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
        let status = try await ManagerPages.status(session)
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
                let stale = !ManagerHostFormat.reportIsCurrent(host)
                var entry: [String: Any] = [
                    "hostId": host.hostID,
                    "hostname": host.hostname,
                    "state": ManagerHostFormat.stateName(host.state),
                    "connected": host.connected,
                    "millisecondsSinceHeartbeat": Int(clamping: host.millisecondsSinceHeartbeat),
                    "ring": ["fill": Int(host.ringFill), "capacity": Int(host.ringCapacity)],
                    // The VM count and usage of a host not connected, or FAILED, are its last known ones.
                    "stale": stale,
                    stale ? "lastVms" : "vms": Int(host.vmCount),
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
                    entry[stale ? "lastUsage" : "usage"] = [
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
            rows.append([
                host.hostname.isEmpty ? host.hostID : host.hostname,
                ManagerHostFormat.stateName(host.state),
                host.connected ? "yes" : "no",
                ManagerHostFormat.age(milliseconds: host.millisecondsSinceHeartbeat),
                host.millisecondsSinceReport.map { ManagerHostFormat.age(milliseconds: $0) } ?? "never",
                "\(host.ringFill)/\(host.ringCapacity)",
                ManagerHostFormat.vms(host),
                "\(ManagerHostFormat.cpuUsed(host))/\(host.capacity.cores)",
            ])
        }
        return header + "\n\n" + Output.table(rows)
    }
}

/// Reading the manager's per-host replies page by page.
public enum ManagerPages {
    /// Every host, page by page (one request per page on one connection); failures are printed and thrown as the
    /// matching ExitCode. Shared by `torpor hosts`.
    public static func status(_ session: AgentSession, pageLimit: UInt16 = 0) async throws -> ManagerStatusReply {
        try await session.run { connection in
            do {
                return try await HostPaging.collect(limit: pageLimit) { page in
                    let request = WireMessage.managerStatusRequest(ManagerStatusRequest(page: page))
                    let reply = try await session.request(request, on: connection)
                    guard case .managerStatusReply(let status) = reply else {
                        throw session.unexpected(reply, expected: "ManagerStatusReply")
                    }
                    return status
                }
            } catch let error as HostPagingError {
                throw session.failure("\(session.label) \(session.endpoint): \(error)", code: AgentCtlExit.failed)
            }
        }
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

    /// The host's latest report describes it now: it is connected and not FAILED. Otherwise its VM count and usage
    /// are what it last reported, and are shown as unknown ("-"), beside the age of that report.
    public static func reportIsCurrent(_ host: ManagerStatusReply.Host) -> Bool {
        host.connected && host.state != .failed
    }

    /// The VM count, "-" when not current.
    public static func vms(_ host: ManagerStatusReply.Host) -> String {
        reportIsCurrent(host) ? "\(host.vmCount)" : "-"
    }

    /// CPU cores in use, "-" before the first report and when not current.
    public static func cpuUsed(_ host: ManagerStatusReply.Host) -> String {
        guard reportIsCurrent(host), let usage = host.usage else { return "-" }
        return String(format: "%.2f", usage.cpuCoresInUse)
    }

    /// "1.2 s ago", "3 min ago", "2.5 h ago".
    public static func age(milliseconds: UInt64) -> String {
        let seconds = Double(milliseconds) / 1000
        if seconds < 60 { return String(format: "%.1f s ago", seconds) }
        if seconds < 3600 { return String(format: "%.0f min ago", seconds / 60) }
        return String(format: "%.1f h ago", seconds / 3600)
    }
}
