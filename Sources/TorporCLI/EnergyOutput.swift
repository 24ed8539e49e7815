import AgentControl
import Foundation
import Wire

/// How `torpor energy` shows the manager's energy account: a table per host and a cluster line, or JSON.
enum EnergyOutput {
    static func text(_ reply: EnergyReply) -> String {
        var lines: [String] = []
        if reply.hosts.isEmpty {
            lines.append("no hosts")
        } else {
            var rows = [["HOST", "STATE", "SINCE", "WATTS", "USED", "ALWAYS-ON", "SAVED", "NOTE"]]
            for host in reply.hosts {
                rows.append([
                    host.hostID,
                    ManagerHostFormat.stateName(host.state),
                    EnergyFormat.duration(milliseconds: host.millisecondsInState),
                    EnergyFormat.watts(host.watts),
                    EnergyFormat.energy(kilowattHours: host.usedKilowattHours),
                    EnergyFormat.energy(kilowattHours: host.alwaysOnKilowattHours),
                    EnergyFormat.energy(kilowattHours: host.alwaysOnKilowattHours - host.usedKilowattHours),
                    host.readingError.flatMap { $0.isEmpty ? nil : $0 } ?? "-",
                ])
            }
            lines.append(Output.table(rows))
            lines.append("")
        }
        let used = reply.usedKilowattHours
        let alwaysOn = reply.alwaysOnKilowattHours
        let percent = EnergyFormat.savedPercent(used: used, alwaysOn: alwaysOn)
        lines.append(
            "cluster: used \(EnergyFormat.energy(kilowattHours: used)), "
                + "always-on estimate \(EnergyFormat.energy(kilowattHours: alwaysOn)), "
                + "saved \(EnergyFormat.energy(kilowattHours: alwaysOn - used)) (\(String(format: "%.1f", percent)) %) "
                + "over the last \(EnergyFormat.duration(milliseconds: reply.millisecondsMeasured))"
        )
        return lines.joined(separator: "\n")
    }

    static func json(_ reply: EnergyReply) -> [String: Any] {
        let used = reply.usedKilowattHours
        let alwaysOn = reply.alwaysOnKilowattHours
        return [
            "measuredSeconds": Int(clamping: reply.millisecondsMeasured / 1000),
            "cluster": [
                "usedKilowattHours": number(used),
                "alwaysOnKilowattHours": number(alwaysOn),
                "savedKilowattHours": number(alwaysOn - used),
                "savedPercent": number(EnergyFormat.savedPercent(used: used, alwaysOn: alwaysOn)),
            ],
            "hosts": reply.hosts.map { host -> [String: Any] in
                var entry: [String: Any] = [
                    "hostId": host.hostID,
                    "state": ManagerHostFormat.stateName(host.state),
                    "stateSinceSeconds": Int(clamping: host.millisecondsInState / 1000),
                    "usedKilowattHours": number(host.usedKilowattHours),
                    "alwaysOnKilowattHours": number(host.alwaysOnKilowattHours),
                    "savedKilowattHours": number(host.alwaysOnKilowattHours - host.usedKilowattHours),
                ]
                // Absent when unknown, as in `torpor hosts --json`.
                if let watts = host.watts { entry["watts"] = number(watts) }
                if let age = host.millisecondsSinceReading { entry["secondsSinceReading"] = Int(clamping: age / 1000) }
                if let error = host.readingError { entry["readingError"] = error }
                return entry
            },
        ]
    }

    /// JSONSerialization refuses NaN and infinities, and would turn the whole answer into "{}".
    static func number(_ value: Double) -> Any {
        value.isFinite ? value : NSNull()
    }
}
