import AgentControl
import Foundation
import Wire

/// Rendering of the manager's host table, shared by `torpor hosts` and `torpor lab status`.
package enum HostTable {
    package static func json(_ status: ManagerStatusReply, address: String) -> [String: Any] {
        [
            "manager": ["address": address, "managerId": status.managerID, "version": status.softwareVersion],
            "hosts": status.hosts.map { host -> [String: Any] in
                let stale = !ManagerHostFormat.reportIsCurrent(host)
                var entry: [String: Any] = [
                    "hostId": host.hostID,
                    "hostname": host.hostname,
                    "state": ManagerHostFormat.stateName(host.state),
                    "connected": host.connected,
                    "cores": Int(host.capacity.cores),
                    "memoryBytes": Int(clamping: host.capacity.memoryBytes),
                    // A host not connected, or FAILED, has only its last known VM count and CPU.
                    "stale": stale,
                    stale ? "lastVms" : "vms": Int(host.vmCount),
                    "millisecondsSinceHeartbeat": Int(clamping: host.millisecondsSinceHeartbeat),
                ]
                // Absent until the host's first report.
                if let usage = host.usage {
                    entry[stale ? "lastCpuUsedCores" : "cpuUsedCores"] = Double(usage.cpuCoresInUse)
                }
                if let age = host.millisecondsSinceReport { entry["millisecondsSinceReport"] = Int(clamping: age) }
                // Absent from a manager that does not send them, and watts for a host without a reading.
                if let age = host.millisecondsInState { entry["stateSinceSeconds"] = Int(clamping: age / 1000) }
                if let watts = host.watts { entry["watts"] = EnergyOutput.number(watts) }
                // Absent from a manager that does not estimate, and for a host with no inventory yet.
                if let estimate = host.estimate { entry[stale ? "lastEstimate" : "estimate"] = json(estimate) }
                // With group manager processes: the one holding the host (docs/ha.md).
                if let groupManager = host.groupManagerID { entry["groupManager"] = groupManager }
                // Out of service for maintenance (`torpor host cordon`).
                entry["cordoned"] = host.cordonReason != nil
                if let reason = host.cordonReason, !reason.isEmpty { entry["cordonReason"] = reason }
                // Its agent said its libvirtd does not answer: nothing is placed there meanwhile.
                entry["hypervisorAnswers"] = host.hypervisorProblem == nil
                if let problem = host.hypervisorProblem { entry["hypervisorProblem"] = problem }
                return entry
            },
        ]
    }

    package static func text(_ status: ManagerStatusReply, address: String) -> String {
        let header = "manager \(status.managerID) at \(address), version \(status.softwareVersion)"
        guard !status.hosts.isEmpty else { return header + "\n\nno hosts" }
        let columns = [
            "HOST", "HOSTNAME", "STATE", "SINCE", "CONNECTED", "CORES", "MEMORY", "CPU USED", "CPU EST/REQ",
            "MEM EST/REQ", "WATTS", "VMS", "REPORT", "HEARTBEAT",
        ]
        var rows = [columns]
        for host in status.hosts {
            rows.append([
                host.hostID,
                host.hostname,
                ManagerHostFormat.stateName(host.state) + (host.cordonReason == nil ? "" : " (cordoned)")
                    + (host.hypervisorProblem == nil ? "" : " (no libvirtd)"),
                host.millisecondsInState.map { EnergyFormat.duration(milliseconds: $0) } ?? "-",
                host.connected ? "yes" : "no",
                "\(host.capacity.cores)",
                Output.bytes(Double(host.capacity.memoryBytes)),
                // "-" for a host not connected or FAILED: REPORT says how old its last numbers are.
                ManagerHostFormat.cpuUsed(host),
                cpuEstimate(host),
                memoryEstimate(host),
                EnergyFormat.watts(host.watts),
                ManagerHostFormat.vms(host),
                host.millisecondsSinceReport.map { ManagerHostFormat.age(milliseconds: $0) } ?? "never",
                ManagerHostFormat.age(milliseconds: host.millisecondsSinceHeartbeat),
            ])
        }
        let notes =
            status.hosts.compactMap { host in
                host.cordonReason.map { "\(host.hostID) is cordoned" + ($0.isEmpty ? "" : ": \($0)") }
            }
            + status.hosts.compactMap { host in
                host.hypervisorProblem.map {
                    "\(host.hostID)'s libvirtd does not answer (nothing is placed there until it does): \($0)"
                }
            }
        return header + "\n\n" + Output.table(rows) + (notes.isEmpty ? "" : "\n\n" + notes.joined(separator: "\n"))
    }

    /// Estimated cores in use over the cores the VMs were given ("1.25/4"); "-" without an estimate or when the
    /// host's numbers are not current.
    static func cpuEstimate(_ host: ManagerStatusReply.Host) -> String {
        guard ManagerHostFormat.reportIsCurrent(host), let estimate = host.estimate else { return "-" }
        return String(format: "%.2f/%@", estimate.estimatedUse.cpuCores, number(estimate.requested.cpuCores))
    }

    /// Estimated memory in use over the memory the VMs were given ("1.5 GiB/4.0 GiB").
    static func memoryEstimate(_ host: ManagerStatusReply.Host) -> String {
        guard ManagerHostFormat.reportIsCurrent(host), let estimate = host.estimate else { return "-" }
        return Output.bytes(estimate.estimatedUse.memoryBytes) + "/" + Output.bytes(estimate.requested.memoryBytes)
    }

    static func json(_ estimate: ManagerStatusReply.HostEstimate) -> [String: Any] {
        [
            "estimatedUse": ClusterOutput.json(estimate.estimatedUse),
            "requested": ClusterOutput.json(estimate.requested),
            "measuredVms": Int(estimate.measuredVMs),
        ]
    }

    /// A whole number without decimals, else two.
    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? "\(Int(value))" : String(format: "%.2f", value)
    }
}
