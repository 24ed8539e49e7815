import Foundation
import Logging
import Wire

/// Reconciling hosts' inventories with the database. The agent's inventory is the truth about what runs where;
/// the database is the truth about what was asked. A VM the database does not know is adopted (into the
/// `adopted` cluster) and reported; one the database expects on a host that lacks it is marked `missing` and
/// reported; neither is ever destroyed.
extension GroupLeader: GroupManagerObserver {
    public func hostJoined(_ description: AgentDescription) async {
        noteJoined(description.hostID)
        record(host: description.hostID, hostname: description.hostname, capacity: description.capacity, .active)
    }

    private func record(host: String, hostname: String, capacity: HostCapacity, _ state: HostRecord.State) {
        let stored = StoredHost(
            id: host,
            hostname: hostname,
            state: state,
            cores: Int(capacity.cores),
            memoryBytes: Int(clamping: capacity.memoryBytes),
            lastSeen: Date()
        )
        do {
            try store.upsertHost(stored)
        } catch {
            logger.error("cannot record host", metadata: ["torpor.host": "\(host)", "torpor.error": "\(error)"])
        }
    }

    public func inventoryReceived(_ inventory: Inventory, from hostID: String) async {
        do {
            try reconcile(inventory, from: hostID)
        } catch {
            logger.error(
                "cannot reconcile inventory",
                metadata: ["torpor.host": "\(hostID)", "torpor.error": "\(error)"]
            )
        }
    }

    func reconcile(_ inventory: Inventory, from hostID: String) throws {
        var seen = Set<String>()
        for entry in inventory.vms {
            let uuid = "\(entry.uuid)".lowercased()
            seen.insert(uuid)
            let observed = StoredVM.State(observed: entry.state)
            guard let vm = try store.vm(id: uuid) else {
                let adopted = StoredVM(
                    id: uuid,
                    name: entry.name,
                    vcName: Self.adoptedCluster,
                    templateXML: "",
                    virtualCPUs: Int(entry.virtualCPUs),
                    memoryBytes: Int64(clamping: min(entry.memoryKiB, UInt64(Int64.max) / 1024) * 1024),
                    desiredState: observed == .stopped ? .stopped : .running,
                    hostID: hostID,
                    state: observed,
                    reason: "adopted: found on \(hostID), unknown to the manager"
                )
                try store.adoptVM(adopted)
                logger.warning(
                    "adopted a VM the manager did not know",
                    metadata: [
                        "torpor.host": "\(hostID)", "torpor.vm": "\(entry.name)", "torpor.uuid": "\(uuid)",
                        "torpor.vc": "\(Self.adoptedCluster)",
                    ]
                )
                continue
            }
            if let expected = vm.hostID, expected != hostID {
                // A stale definition left on a host the VM has since moved from.
                guard observed != .stopped else { continue }
                logger.warning(
                    "VM found running on another host than recorded",
                    metadata: ["torpor.vm": "\(vm.name)", "torpor.host": "\(hostID)", "torpor.expected": "\(expected)"]
                )
            }
            // A VM being started is defined before it runs: a shut-off sighting says nothing yet.
            if vm.state == .starting, observed == .stopped { continue }
            if vm.state != observed || vm.hostID != hostID {
                if vm.state == .missing || vm.state == .unreachable {
                    logger.notice(
                        "VM back",
                        metadata: [
                            "torpor.vm": "\(vm.name)", "torpor.host": "\(hostID)", "torpor.was": "\(vm.state.rawValue)",
                        ]
                    )
                }
                try store.setVMPlacement(id: vm.id, hostID: hostID, state: observed)
            }
        }
        for vm in try store.vms(onHost: hostID) where !seen.contains(vm.id) {
            guard [.running, .suspended, .stopped, .unreachable].contains(vm.state) else { continue }
            let reason = "expected on \(hostID) but absent from its inventory"
            try store.setVMPlacement(id: vm.id, hostID: hostID, state: .missing, reason: reason)
            logger.error(
                "VM missing from its host",
                metadata: ["torpor.vm": "\(vm.name)", "torpor.host": "\(hostID)", "torpor.was": "\(vm.state.rawValue)"]
            )
        }
    }

    public func hostsFailed(_ hosts: [HostRecord]) async {
        for host in hosts {
            record(host: host.hostID, hostname: host.description.hostname, capacity: host.description.capacity, .failed)
            do {
                let affected = try store.vms(onHost: host.hostID).filter {
                    [.starting, .running, .suspended].contains($0.state)
                }
                for vm in affected {
                    try store.setVMPlacement(
                        id: vm.id,
                        hostID: host.hostID,
                        state: .unreachable,
                        reason: "\(host.hostID) FAILED: no heartbeat"
                    )
                }
                logger.error(
                    "host failed with VMs",
                    metadata: [
                        "torpor.host": "\(host.hostID)",
                        "torpor.vms": "\(affected.map(\.name).joined(separator: ","))",
                    ]
                )
            } catch {
                logger.error(
                    "cannot record a failed host's VMs",
                    metadata: ["torpor.host": "\(host.hostID)", "torpor.error": "\(error)"]
                )
            }
        }
    }
}

extension StoredVM.State {
    init(observed: VMState) {
        switch observed {
        case .running, .blocked: self = .running
        case .paused, .pmSuspended: self = .suspended
        case .shuttingDown: self = .running
        default: self = .stopped
        }
    }
}
