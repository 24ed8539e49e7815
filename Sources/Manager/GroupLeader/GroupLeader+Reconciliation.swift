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
        migrationURIs[description.hostID] = description.migrationURI
        await record(description, .active, migrationURI: description.migrationURI)
        await announceJoined(description.hostID)
    }

    private func record(
        _ description: AgentDescription,
        _ state: HostRecord.State,
        migrationURI: String? = nil
    ) async {
        let capacity = description.capacity
        let stored = StoredHost(
            id: description.hostID,
            hostname: description.hostname,
            state: state,
            cores: Int(capacity.cores),
            memoryBytes: Int(clamping: capacity.memoryBytes),
            lastSeen: Date(),
            nicRxBytesPerSecond: Int(clamping: capacity.nicRxBytesPerSecond),
            nicTxBytesPerSecond: Int(clamping: capacity.nicTxBytesPerSecond),
            capabilities: Int(description.capabilities.rawValue)
        )
        do {
            try await store.upsertHost(stored, migrationURI: migrationURI)
        } catch {
            logger.error("cannot record host", metadata: [.host: "\(description.hostID)", .error: "\(error)"])
        }
    }

    public func inventoryReceived(_ inventory: Inventory, from hostID: String) async {
        await lockDecisions()
        defer { unlockDecisions() }
        await reconcileLoggingFailure(inventory, from: hostID)
    }

    /// `reconcile`, under the decisions lock the caller holds; a store that fails is logged.
    private func reconcileLoggingFailure(_ inventory: Inventory, from hostID: String) async {
        do {
            try await reconcile(inventory, from: hostID)
        } catch {
            logger.error(
                "cannot reconcile inventory",
                metadata: [.host: "\(hostID)", .error: "\(error)"]
            )
        }
    }

    func reconcile(_ inventory: Inventory, from hostID: String) async throws {
        let now = ContinuousClock.now
        vmLifecycle.expire(at: now)
        _ = migrations.expireSettling(at: now)
        var seen = Set<String>()
        // VMs the store does not know, written together once the inventory has been read.
        var adoptions: [StoredVM] = []
        // Read in one go: one read per VM was most of a leader's time when thousands of hosts joined at once.
        let stored = try await store.vms(ids: inventory.vms.map { "\($0.uuid)".lowercased() })
        for entry in inventory.vms {
            let uuid = "\(entry.uuid)".lowercased()
            // Listed twice: the first entry counts (its decision may have changed the row read above).
            guard seen.insert(uuid).inserted else { continue }
            let observed = StoredVM.State(observed: entry.state)
            guard let vm = stored[uuid] else {
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
                adoptions.append(adopted)
                continue
            }
            // Moving from or to this host, or just moved: this inventory may show it on either side.
            if migrations.leavesAlone(vm.id, on: hostID, at: now) { continue }
            var recordedHostListsIt = false
            if let recorded = vm.hostID, recorded != hostID, observed != .stopped {
                recordedHostListsIt =
                    await groupManager.inventory(of: recorded)?.vms.contains {
                        "\($0.uuid)".lowercased() == uuid && $0.state.isActive
                    } ?? false
            }
            let decision = vmLifecycle.reconcile(
                vm,
                sighting: .present(observed),
                on: hostID,
                recordedHostListsItActive: recordedHostListsIt,
                at: now
            )
            try await apply(decision, to: vm, on: hostID)
        }
        for (vm, found) in zip(try await store.adoptVMs(adoptions), adoptions) {
            logger.warning(
                "adopted a VM the manager did not know",
                metadata: [.host: "\(hostID)", .vm: "\(found.name)", .uuid: "\(vm.id)", .vc: "\(vm.vcName)"]
            )
        }
        for vm in try await store.vms(onHost: hostID)
        where !seen.contains(vm.id) && !migrations.leavesAlone(vm.id, on: hostID, at: now) {
            let decision = vmLifecycle.reconcile(
                vm,
                sighting: .absent,
                on: hostID,
                recordedHostListsItActive: false,
                at: now
            )
            try await apply(decision, to: vm, on: hostID)
        }
    }

    /// Runs one reconciliation decision: a store write with its log line, a later look, or the alarm for a VM
    /// running on two hosts.
    private func apply(
        _ decision: VMLifecycleMachine.Reconciliation,
        to vm: StoredVM,
        on hostID: String
    ) async throws {
        switch decision {
        case .keep:
            return
        case .recheck(let until):
            guard pendingRechecks.insert(hostID).inserted else { return }
            // Just past the settling time, so the look counts what the agent reported by then.
            enqueue.yield(.recheck(hostID, at: until + .milliseconds(50)))
        case .record(let host, let state, let reason):
            if state == .missing {
                logger.error(
                    "VM missing from its host",
                    metadata: [
                        .vm: "\(vm.name)", .host: "\(hostID)", .was: "\(vm.state.rawValue)",
                    ]
                )
            } else if let expected = vm.hostID, expected != host {
                logger.warning(
                    "VM found running on another host than recorded",
                    metadata: [.vm: "\(vm.name)", .host: "\(hostID)", .expected: "\(expected)"]
                )
            } else if [.missing, .unreachable, .duplicated].contains(vm.state) {
                logger.notice(
                    "VM back",
                    metadata: [
                        .vm: "\(vm.name)", .host: "\(hostID)", .was: "\(vm.state.rawValue)",
                    ]
                )
            }
            try await store.setVMPlacement(id: vm.id, hostID: host, state: state, reason: reason)
        case .duplicate(let hosts):
            let reason =
                "running on \(hosts.joined(separator: " and ")) at once (both hosts' latest inventories list it): "
                + "destroy the extra copy"
            if let owner = vmLifecycle.owner(of: vm.id) { vmAlerts[vm.id] = reason + " (task \(owner))" }
            guard vm.state != .duplicated || vm.reason != reason else { return }
            logger.error(
                "VM running on two hosts",
                metadata: [
                    .vm: "\(vm.name)", .uuid: "\(vm.id)",
                    .hosts: "\(hosts.joined(separator: ","))",
                    .task: "\(vmLifecycle.owner(of: vm.id) ?? "")",
                ]
            )
            try await store.setVMPlacement(id: vm.id, hostID: vm.hostID, state: .duplicated, reason: reason)
        }
    }

    /// Reconciles the host's latest inventory again, once command results it contradicted have settled.
    ///
    /// Only while the host is heard from (connected, not FAILED), looked at under the decisions lock: the group
    /// manager keeps a FAILED host's last inventory, sent before it went silent, and reconciling it after
    /// `hostsFailed` turned its VMs `unreachable` would record them running there again ("VM back"), for good,
    /// since a dead agent sends nothing newer (a loaded CI run's killed agent left its VM `running`). A host that
    /// comes back sends a fresh inventory on its join, and that one is reconciled.
    func recheck(_ hostID: String) async {
        pendingRechecks.remove(hostID)
        await lockDecisions()
        defer { unlockDecisions() }
        guard let host = await groupManager.host(hostID), host.connected, host.state != .failed else {
            logger.info("recheck skipped: the host is not heard from", metadata: [.host: "\(hostID)"])
            return
        }
        guard let inventory = await groupManager.inventory(of: hostID) else { return }
        await reconcileLoggingFailure(inventory, from: hostID)
    }

    public func hostsFailed(_ hosts: [HostRecord]) async {
        await lockDecisions()
        defer { unlockDecisions() }
        for host in hosts {
            await record(host.description, .failed)
            announceFailed(host.hostID)
            await markVMsUnreachable(onFailed: host.hostID, reason: "\(host.hostID) FAILED: no heartbeat")
        }
    }

    /// Under the decisions lock: the VMs the store places on a FAILED host may still run there, unseen: they are
    /// `unreachable`, and highly available ones are restarted elsewhere once the host is fenced (`evacuate`).
    func markVMsUnreachable(onFailed hostID: String, reason: String) async {
        do {
            let affected = try await store.vms(onHost: hostID).filter {
                [.starting, .running, .suspended, .shuttingDown].contains($0.state)
            }
            for vm in affected {
                try await store.setVMPlacement(id: vm.id, hostID: hostID, state: .unreachable, reason: reason)
            }
            if affected.contains(where: \.highlyAvailable) { enqueue.yield(.evacuate(hostID)) }
            logger.error(
                "host failed with VMs",
                metadata: [.host: "\(hostID)", .vms: "\(affected.map(\.name).joined(separator: ","))"]
            )
        } catch {
            logger.error("cannot record a failed host's VMs", metadata: [.host: "\(hostID)", .error: "\(error)"])
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
