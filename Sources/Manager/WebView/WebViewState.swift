import Foundation
import Wire

/// What `GET /ui/state` answers: the hierarchy as `torpor tree` draws it (group leader → group managers → hosts →
/// VMs), each host with its power state and latest watts, and the cluster's totals. Built without I/O from the
/// replies `torpor hosts` and `torpor energy` show and the leader's view of its VMs.
struct WebViewState: Codable, Equatable, Sendable {
    /// Milliseconds since 1970 when the snapshot was taken.
    var time: Int64
    var leader: String
    var groupManagers: [GroupManager]
    /// VMs on no host (pending, unplaced, stopped), or on a host the manager does not list.
    var unassigned: [VM]
    var cluster: Cluster

    struct GroupManager: Codable, Equatable, Sendable {
        var id: String
        var hosts: [Host]
    }

    struct Host: Codable, Equatable, Sendable {
        var id: String
        var hostname: String
        /// `active`, `sleeping`, `waking` or `failed`.
        var state: String
        var connected: Bool
        var secondsInState: Double?
        /// The latest BMC reading; absent without one.
        var watts: Double?
        var usedKilowattHours: Double?
        var alwaysOnKilowattHours: Double?
        var cores: Int
        var memoryBytes: UInt64
        var vms: [VM]
        /// Why the host is out of service (`torpor host cordon`; empty: no reason given); absent in service.
        var cordonReason: String? = nil
        /// What its agent said when its libvirtd stopped answering; absent while it answers.
        var hypervisorProblem: String? = nil
    }

    struct VM: Codable, Equatable, Sendable {
        var id: String
        var name: String
        var cluster: String
        /// The state database's name: `running`, `pending`, `suspended`, …
        var state: String
        var ip: String?
    }

    struct Cluster: Codable, Equatable, Sendable {
        var hosts: Int
        var hostsAwake: Int
        var hostsAsleep: Int
        var hostsWaking: Int
        var hostsFailed: Int
        /// The sum of the hosts' latest readings (0 when no host has one).
        var watts: Double
        var usedKilowattHours: Double
        var savedKilowattHours: Double
        /// Saved over what always-on hosts would have used, 0…1; absent before any energy is measured.
        var savedShare: Double?
    }

    static func stateName(_ state: ManagerStatusReply.HostState) -> String {
        switch state {
        case .active: "active"
        case .sleeping: "sleeping"
        case .waking: "waking"
        case .failed: "failed"
        }
    }

    init(time: Int64, leader: String, groupManagers: [GroupManager], unassigned: [VM], cluster: Cluster) {
        self.time = time
        self.leader = leader
        self.groupManagers = groupManagers
        self.unassigned = unassigned
        self.cluster = cluster
    }

    /// The snapshot of `status` (hosts, watts), `energy` (kWh per host; nil: none measured) and `vms`.
    init(at date: Date, status: ManagerStatusReply, energy: EnergyReply?, vms: [GroupLeaderView.VM]) {
        let known = Set(status.hosts.map(\.hostID))
        var byHost: [String: [VM]] = [:]
        var unassigned: [VM] = []
        for vm in vms {
            let entry = VM(
                id: vm.record.id,
                name: vm.record.name,
                cluster: vm.record.vcName,
                state: vm.record.state.rawValue,
                ip: vm.lease.map { "\($0.ip)" }
            )
            if let host = vm.record.hostID, known.contains(host) {
                byHost[host, default: []].append(entry)
            } else {
                unassigned.append(entry)
            }
        }
        let energyByHost = Dictionary(
            (energy?.hosts ?? []).map { ($0.hostID, $0) },
            uniquingKeysWith: { first, _ in first }
        )
        // A leader holding its agents itself is their group manager too; with group manager processes each host is
        // under the one holding it (docs/ha.md), a host none holds now under "(none)".
        let dealt = status.hosts.contains { $0.groupManagerID != nil }
        let holders = Dictionary(
            status.hosts.map { ($0.hostID, dealt ? $0.groupManagerID ?? "(none)" : status.managerID) },
            uniquingKeysWith: { first, _ in first }
        )
        let hosts = status.hosts.sorted { $0.hostID < $1.hostID }.map { host in
            let measured = energyByHost[host.hostID]
            return Host(
                id: host.hostID,
                hostname: host.hostname,
                state: Self.stateName(host.state),
                connected: host.connected,
                secondsInState: host.millisecondsInState.map { Double($0) / 1000 },
                watts: host.watts,
                usedKilowattHours: measured?.usedKilowattHours,
                alwaysOnKilowattHours: measured?.alwaysOnKilowattHours,
                cores: Int(host.capacity.cores),
                memoryBytes: host.capacity.memoryBytes,
                vms: (byHost[host.hostID] ?? []).sorted { $0.name < $1.name },
                cordonReason: host.cordonReason,
                hypervisorProblem: host.hypervisorProblem
            )
        }
        let used = energy?.hosts.reduce(0) { $0 + $1.usedKilowattHours } ?? 0
        let alwaysOn = energy?.hosts.reduce(0) { $0 + $1.alwaysOnKilowattHours } ?? 0
        self.init(
            time: Int64((date.timeIntervalSince1970 * 1000).rounded()),
            leader: status.managerID,
            groupManagers: Self.groupManagers(hosts, holders: holders, leader: status.managerID),
            unassigned: unassigned.sorted { $0.name < $1.name },
            cluster: Cluster(
                hosts: hosts.count,
                hostsAwake: hosts.count { $0.state == "active" },
                hostsAsleep: hosts.count { $0.state == "sleeping" },
                hostsWaking: hosts.count { $0.state == "waking" },
                hostsFailed: hosts.count { $0.state == "failed" },
                watts: hosts.reduce(0) { $0 + ($1.watts ?? 0) },
                usedKilowattHours: used,
                savedKilowattHours: max(0, alwaysOn - used),
                savedShare: alwaysOn > 0 ? max(0, min(1, (alwaysOn - used) / alwaysOn)) : nil
            )
        )
    }

    /// The hosts under their group managers, by id; the leader alone (with no host) when there are none.
    static func groupManagers(_ hosts: [Host], holders: [String: String], leader: String) -> [GroupManager] {
        var byHolder: [String: [Host]] = [:]
        for host in hosts { byHolder[holders[host.id] ?? leader, default: []].append(host) }
        if byHolder.isEmpty { byHolder[leader] = [] }
        return byHolder.keys.sorted().map { GroupManager(id: $0, hosts: byHolder[$0] ?? []) }
    }

    /// The host `id`, with its group manager's id; nil when no group manager has it.
    func host(_ id: String) -> (groupManager: String, host: Host)? {
        for manager in groupManagers {
            if let host = manager.hosts.first(where: { $0.id == id }) { return (manager.id, host) }
        }
        return nil
    }
}
