import AgentControl
import Foundation
import Wire

/// The cluster as Snooze drew it: group leader → group managers → hosts → VMs. A leader holding its agents itself
/// is also their group manager (both carry its id); with group manager processes (docs/ha.md) each host is under the
/// one holding it, and a host none holds now under "no group manager".
struct ClusterTopology {
    struct VM {
        var name: String
        var cluster: String
        var state: String
        var ip: String
    }

    struct Host {
        var id: String
        var state: String
        var cores: Int
        var memoryBytes: UInt64
        var vms: [VM]
        /// Why the host is out of service (`torpor host cordon`); nil in service.
        var cordonReason: String? = nil
    }

    var leader: String
    var groupManagers: [(id: String, hosts: [Host])]
    /// VMs on no host (pending, unplaced, stopped), or on a host the manager does not list.
    var unassigned: [VM]

    init(status: ManagerStatusReply, clusters: ClusterReply) {
        leader = status.managerID
        var byHost: [String: [VM]] = [:]
        var unassigned: [VM] = []
        let known = Set(status.hosts.map(\.hostID))
        for cluster in clusters.clusters {
            for vm in cluster.vms {
                let entry = VM(name: vm.name, cluster: cluster.name, state: vm.state, ip: vm.ipAddress)
                if !vm.hostID.isEmpty, known.contains(vm.hostID) {
                    byHost[vm.hostID, default: []].append(entry)
                } else {
                    unassigned.append(entry)
                }
            }
        }
        var byGroupManager: [String: [Host]] = [:]
        let dealt = status.hosts.contains { $0.groupManagerID != nil }
        for host in status.hosts {
            let holder = dealt ? host.groupManagerID ?? Self.noGroupManager : status.managerID
            byGroupManager[holder, default: []].append(
                Host(
                    id: host.hostID,
                    state: ManagerHostFormat.stateName(host.state),
                    cores: Int(host.capacity.cores),
                    memoryBytes: host.capacity.memoryBytes,
                    vms: (byHost[host.hostID] ?? []).sorted { $0.name < $1.name },
                    cordonReason: host.cordonReason
                )
            )
        }
        if byGroupManager.isEmpty { byGroupManager[status.managerID] = [] }
        groupManagers = byGroupManager.keys.sorted().map { (id: $0, hosts: byGroupManager[$0] ?? []) }
        self.unassigned = unassigned.sorted { $0.name < $1.name }
    }

    /// Where hosts no group manager holds now are listed.
    static let noGroupManager = "(none)"

    var text: String {
        var lines = ["group leader \(leader)"]
        for manager in groupManagers {
            lines.append("  group manager \(manager.id)")
            for host in manager.hosts {
                let cordon = host.cordonReason.map { $0.isEmpty ? " cordoned" : " cordoned: \($0)" } ?? ""
                lines.append(
                    "    host \(host.id) \(host.state) (\(host.cores) cores, \(Output.bytes(Double(host.memoryBytes))))"
                        + cordon
                )
                for vm in host.vms {
                    lines.append("      vm \(vm.name) \(vm.state) \(vm.ip.isEmpty ? "" : vm.ip) [vc \(vm.cluster)]")
                }
            }
        }
        if !unassigned.isEmpty {
            lines.append("  on no host")
            for vm in unassigned { lines.append("    vm \(vm.name) \(vm.state) [vc \(vm.cluster)]") }
        }
        return lines.joined(separator: "\n")
    }

    var json: [String: Any] {
        func vm(_ vm: VM) -> [String: Any] { ["name": vm.name, "cluster": vm.cluster, "state": vm.state, "ip": vm.ip] }
        return [
            "groupLeader": leader,
            "groupManagers": groupManagers.map { manager in
                [
                    "id": manager.id,
                    "hosts": manager.hosts.map { host in
                        var entry: [String: Any] = [
                            "id": host.id, "state": host.state, "cores": host.cores, "memoryBytes": host.memoryBytes,
                            "vms": host.vms.map(vm), "cordoned": host.cordonReason != nil,
                        ]
                        if let reason = host.cordonReason, !reason.isEmpty { entry["cordonReason"] = reason }
                        return entry
                    },
                ] as [String: Any]
            },
            "unassigned": unassigned.map(vm),
        ]
    }

    /// GraphML (graphml.graphdrawing.org): one node per leader, group manager, host and VM, edges down the tree.
    var graphML: String {
        var nodes: [String] = []
        var edges: [String] = []
        func node(_ id: String, kind: String, label: String, state: String) {
            nodes.append(
                """
                    <node id="\(escape(id))"><data key="kind">\(kind)</data><data key="label">\(escape(label))</data>\
                <data key="state">\(escape(state))</data></node>
                """
            )
        }
        func edge(_ source: String, _ target: String) {
            edges.append("    <edge source=\"\(escape(source))\" target=\"\(escape(target))\"/>")
        }
        node("leader:\(leader)", kind: "groupLeader", label: leader, state: "ACTIVE")
        for manager in groupManagers {
            node("gm:\(manager.id)", kind: "groupManager", label: manager.id, state: "ACTIVE")
            edge("leader:\(leader)", "gm:\(manager.id)")
            for host in manager.hosts {
                node("host:\(host.id)", kind: "host", label: host.id, state: host.state)
                edge("gm:\(manager.id)", "host:\(host.id)")
                for vm in host.vms {
                    node("vm:\(vm.name)", kind: "vm", label: vm.name, state: vm.state)
                    edge("host:\(host.id)", "vm:\(vm.name)")
                }
            }
        }
        for vm in unassigned {
            node("vm:\(vm.name)", kind: "vm", label: vm.name, state: vm.state)
            edge("leader:\(leader)", "vm:\(vm.name)")
        }
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <graphml xmlns="http://graphml.graphdrawing.org/xmlns">
              <key id="kind" for="node" attr.name="kind" attr.type="string"/>
              <key id="label" for="node" attr.name="label" attr.type="string"/>
              <key id="state" for="node" attr.name="state" attr.type="string"/>
              <graph id="torpor" edgedefault="directed">
            \(nodes.joined(separator: "\n"))
            \(edges.joined(separator: "\n"))
              </graph>
            </graphml>
            """
    }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func load(_ options: ManagerOptions) async throws -> ClusterTopology {
        let status = try await ManagerQuery.status(options)
        let clusters = try await ClusterClient(options: options).clusters(.list)
        return ClusterTopology(status: status, clusters: clusters)
    }
}
