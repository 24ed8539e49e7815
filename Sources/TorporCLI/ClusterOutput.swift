import AgentControl
import Foundation
import Wire

/// How virtual clusters and their VMs are shown.
enum ClusterOutput {
    static func vmRows(_ vms: [ClusterReply.VM], cluster: String? = nil) -> [[String]] {
        var rows = [(cluster == nil ? [] : ["VC"]) + ["VM", "STATE", "HOST", "IP", "MAC", "VCPUS", "MEMORY", "REASON"]]
        for vm in vms {
            rows.append(
                (cluster.map { [$0] } ?? []) + [
                    vm.name, vm.state, vm.hostID.isEmpty ? "-" : vm.hostID, vm.ipAddress.isEmpty ? "-" : vm.ipAddress,
                    vm.macAddress.isEmpty ? "-" : vm.macAddress, "\(vm.virtualCPUs)",
                    Output.bytes(Double(vm.memoryBytes)), vm.reason.isEmpty ? "-" : vm.reason,
                ]
            )
        }
        return rows
    }

    static func info(_ cluster: ClusterReply.Cluster) -> String {
        let running = cluster.vms.filter { $0.state == "running" }.count
        let hosts = Set(cluster.vms.map(\.hostID).filter { !$0.isEmpty }).count
        let reservation = cluster.reservation.map { "\n" + reservationLine($0) } ?? ""
        return """
            virtual cluster \(cluster.name): \(cluster.vms.count) VMs, \(running) running on \(hosts) host\(hosts == 1 ? "" : "s")\(reservation)

            \(Output.table(vmRows(cluster.vms)))
            """
    }

    /// `reserved until T`, or how it ended.
    static func reservationLine(_ reservation: ClusterReply.Reservation) -> String {
        let until = TaskOutput.isoTime(reservation.untilUnixMilliseconds)
        guard reservation.expired else { return "reserved until \(until)" }
        guard reservation.stoppedAtUnixMilliseconds > 0 else {
            return "reservation expired at \(until): stopping its VMs"
        }
        return "reservation expired at \(until): VMs stopped at "
            + TaskOutput.isoTime(reservation.stoppedAtUnixMilliseconds)
    }

    static func list(_ reply: ClusterReply) -> String {
        var rows = [["VC", "VMS", "RUNNING", "HOSTS", "CREATED"]]
        for cluster in reply.clusters {
            rows.append([
                cluster.name, "\(cluster.vms.count)", "\(cluster.vms.filter { $0.state == "running" }.count)",
                "\(Set(cluster.vms.map(\.hostID).filter { !$0.isEmpty }).count)",
                TaskOutput.isoTime(cluster.createdAtUnixMilliseconds),
            ])
        }
        return Output.table(rows)
    }

    static func json(_ vm: ClusterReply.VM) -> [String: Any] {
        var object: [String: Any] = [
            "name": vm.name, "uuid": vm.uuid, "state": vm.state, "desiredState": vm.desiredState,
            "host": vm.hostID, "ip": vm.ipAddress, "mac": vm.macAddress, "virtualCPUs": Int(vm.virtualCPUs),
            "memoryBytes": vm.memoryBytes, "networkRxBytesPerSecond": vm.networkRxBytesPerSecond,
            "networkTxBytesPerSecond": vm.networkTxBytesPerSecond, "reason": vm.reason,
        ]
        // Absent for a VM made from a template.
        if let origin = vm.origin {
            object["flavor"] = origin.flavor
            object["image"] = origin.image
            object["overlay"] = origin.overlayPath
            object["seedISO"] = origin.seedPath
        }
        // Absent when the manager has no estimate (the VM runs nowhere) or does not send them.
        if let estimate = vm.estimate {
            var estimated = json(estimate.estimated)
            estimated["samples"] = Int(estimate.samples)
            object["estimate"] = estimated
        }
        return object
    }

    static func json(_ amounts: ResourceAmounts) -> [String: Any] {
        [
            "cpuCores": amounts.cpuCores, "memoryBytes": amounts.memoryBytes,
            "networkRxBytesPerSecond": amounts.networkRxBytesPerSecond,
            "networkTxBytesPerSecond": amounts.networkTxBytesPerSecond,
        ]
    }

    /// `torpor vm info`: the VM's row, then what it asked for next to what it is estimated to use.
    static func vmInfo(_ vm: ClusterReply.VM, cluster: String) -> String {
        var text = Output.table(vmRows([vm], cluster: cluster))
        if let origin = vm.origin {
            text += "\n\nflavor \(origin.flavor), image \(origin.image)\noverlay \(origin.overlayPath)"
            if !origin.seedPath.isEmpty { text += "\nseed ISO \(origin.seedPath)" }
        }
        guard let estimate = vm.estimate else { return text }
        let source =
            estimate.samples == 0
            ? "no samples: taken at its request" : "mean of the newest \(estimate.samples) samples"
        let rows = [
            ["", "CPU", "MEMORY", "NET RX", "NET TX"],
            [
                "requested", "\(vm.virtualCPUs) cores", Output.bytes(Double(vm.memoryBytes)),
                rate(Double(vm.networkRxBytesPerSecond)), rate(Double(vm.networkTxBytesPerSecond)),
            ],
            [
                "estimated", String(format: "%.2f cores", estimate.estimated.cpuCores),
                Output.bytes(estimate.estimated.memoryBytes), rate(estimate.estimated.networkRxBytesPerSecond),
                rate(estimate.estimated.networkTxBytesPerSecond),
            ],
        ]
        text += "\n\nestimate (\(source)):\n" + Output.table(rows)
        return text
    }

    static func rate(_ bytesPerSecond: Double) -> String {
        Output.bytes(bytesPerSecond) + "/s"
    }

    static func json(_ cluster: ClusterReply.Cluster) -> [String: Any] {
        var object: [String: Any] = [
            "name": cluster.name,
            "createdAt": TaskOutput.isoTime(cluster.createdAtUnixMilliseconds),
            "vms": cluster.vms.map(json),
        ]
        // Absent when the cluster has no reservation.
        if let reservation = cluster.reservation {
            var shown: [String: Any] = [
                "until": TaskOutput.isoTime(reservation.untilUnixMilliseconds), "expired": reservation.expired,
            ]
            if reservation.stoppedAtUnixMilliseconds > 0 {
                shown["stoppedAt"] = TaskOutput.isoTime(reservation.stoppedAtUnixMilliseconds)
            }
            object["reservation"] = shown
        }
        return object
    }
}
