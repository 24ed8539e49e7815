import AgentControl
import Foundation
import Wire

/// Rendering of the manager's host table, shared by `torpor hosts` and `torpor lab status`.
package enum HostTable {
    package static func json(_ status: ManagerStatusReply, address: String) -> [String: Any] {
        [
            "manager": ["address": address, "managerId": status.managerID, "version": status.softwareVersion],
            "hosts": status.hosts.map { host -> [String: Any] in
                var entry: [String: Any] = [
                    "hostId": host.hostID,
                    "hostname": host.hostname,
                    "state": ManagerHostFormat.stateName(host.state),
                    "connected": host.connected,
                    "cores": Int(host.capacity.cores),
                    "memoryBytes": Int(clamping: host.capacity.memoryBytes),
                    "vms": Int(host.vmCount),
                    "millisecondsSinceHeartbeat": Int(clamping: host.millisecondsSinceHeartbeat),
                ]
                // Absent until the host's first report.
                if let usage = host.usage { entry["cpuUsedCores"] = Double(usage.cpuCoresInUse) }
                // Absent from a manager that does not send them, and watts for a host without a reading.
                if let age = host.millisecondsInState { entry["stateSinceSeconds"] = Int(clamping: age / 1000) }
                if let watts = host.watts { entry["watts"] = EnergyOutput.number(watts) }
                return entry
            },
        ]
    }

    package static func text(_ status: ManagerStatusReply, address: String) -> String {
        let header = "manager \(status.managerID) at \(address), version \(status.softwareVersion)"
        guard !status.hosts.isEmpty else { return header + "\n\nno hosts" }
        let columns = [
            "HOST", "HOSTNAME", "STATE", "SINCE", "CONNECTED", "CORES", "MEMORY", "CPU USED", "WATTS", "VMS",
            "HEARTBEAT",
        ]
        var rows = [columns]
        for host in status.hosts {
            rows.append([
                host.hostID,
                host.hostname,
                ManagerHostFormat.stateName(host.state),
                host.millisecondsInState.map { EnergyFormat.duration(milliseconds: $0) } ?? "-",
                host.connected ? "yes" : "no",
                "\(host.capacity.cores)",
                Output.bytes(Double(host.capacity.memoryBytes)),
                host.usage.map { String(format: "%.2f", $0.cpuCoresInUse) } ?? "-",
                EnergyFormat.watts(host.watts),
                "\(host.vmCount)",
                ManagerHostFormat.age(milliseconds: host.millisecondsSinceHeartbeat),
            ])
        }
        return header + "\n\n" + Output.table(rows)
    }
}
