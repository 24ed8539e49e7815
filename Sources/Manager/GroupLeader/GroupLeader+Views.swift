import Foundation
import Placement

/// What the leader knows, read at once for views that show all of it (Snooze's hierarchy and VM lists on the HTTP
/// front): its hosts as the group manager has them, each host's power state as the leader tracks it, and every VM
/// with its address.
public struct GroupLeaderView: Sendable {
    public struct VM: Sendable {
        public var record: StoredVM
        public var lease: Lease?
        /// Its host's monitoring estimate, for a VM placed and listed by a host.
        public var estimate: VMEstimate? = nil
    }

    public var hosts: [ManagedHost]
    public var vms: [VM]
    /// Hosts the leader has put to sleep or is waking, by id (what the registry shows may lag behind).
    public var asleep: Set<String>
    public var waking: Set<String>
}

extension GroupLeader {
    public func view() async throws -> GroupLeaderView {
        let hosts = await groupManager.hosts()
        let leases = Dictionary(uniqueKeysWithValues: try await store.leases().map { ($0.vmID, $0) })
        let records = try await store.vms()
        let estimates = await groupManager.estimates(
            of: Dictionary(
                records.filter { SnoozeDescriber.placedStates.contains($0.state) }.map { ($0.id, $0.requested) },
                uniquingKeysWith: { first, _ in first }
            )
        )
        let vms = records.map { GroupLeaderView.VM(record: $0, lease: leases[$0.id], estimate: estimates[$0.id]) }
        return GroupLeaderView(
            hosts: hosts,
            vms: vms,
            asleep: Set(power.filter { $0.value.state == .sleeping }.keys),
            waking: Set(power.filter { $0.value.state == .waking }.keys)
        )
    }

    /// The part of the view one host's description needs: the host and the VMs the store places on it. Reads
    /// that host's VMs only, where `view()` reads every host and VM.
    public func view(ofHost hostID: String) async throws -> GroupLeaderView? {
        guard let host = await groupManager.host(hostID) else { return nil }
        var vms: [GroupLeaderView.VM] = []
        for record in try await store.vms(onHost: hostID) {
            vms.append(
                GroupLeaderView.VM(
                    record: record,
                    lease: try await store.lease(vmID: record.id),
                    estimate: SnoozeDescriber.placedStates.contains(record.state)
                        ? await groupManager.estimate(of: record.id, requested: record.requested) : nil
                )
            )
        }
        let powerState = power[hostID]?.state
        return GroupLeaderView(
            hosts: [host],
            vms: vms,
            asleep: powerState == .sleeping ? [hostID] : [],
            waking: powerState == .waking ? [hostID] : []
        )
    }

    /// One VM by name with its address; nil when there is none.
    public func vmView(named name: String) async throws -> GroupLeaderView.VM? {
        guard let vm = try await store.vm(named: name) else { return nil }
        return GroupLeaderView.VM(
            record: vm,
            lease: try await store.lease(vmID: vm.id),
            estimate: SnoozeDescriber.placedStates.contains(vm.state)
                ? await groupManager.estimate(of: vm.id, requested: vm.requested) : nil
        )
    }
}
