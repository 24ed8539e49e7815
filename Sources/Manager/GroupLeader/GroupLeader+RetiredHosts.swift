import Foundation
import Logging
import Wire

/// `torpor host remove HOST`: a host retired from the cluster (sold, broken for good, renamed) is forgotten, so it
/// stops being listed, counted and woken. Only a host that is down and empty can go: its agent not connected, no
/// VM placed on it, no migration to or from it (docs/manager.md, "Retiring a host"). Should its agent come back
/// anyway, it joins as a new host.
extension GroupLeader {
    func removeHost(_ hostID: String) async -> CommandResult {
        await lockDecisions()
        let removal: ManagerStore.HostRemoval
        switch await removeHostRecords(hostID) {
        case .success(let done): removal = done
        case .failure(let refusal):
            unlockDecisions()
            return refusal.result
        }
        // Under the lock, so that no energy decision meets the host between its records and its registry entry.
        _ = await groupManager.forget(hostID)
        unlockDecisions()
        logger.notice(
            "host removed",
            metadata: [.host: "\(hostID)", .vms: "\(removal.vmsUnplaced.joined(separator: ","))"]
        )
        var message = "\(hostID) removed: no longer listed, counted or woken"
        if !removal.vmsUnplaced.isEmpty {
            let names = removal.vmsUnplaced.joined(separator: ", ")
            message +=
                "; \(names) (not running) \(removal.vmsUnplaced.count == 1 ? "is" : "are") placed anew "
                + "when started"
        }
        if configuration.hostWake[hostID] != nil {
            message += "; remove its entry under `hosts:` in manager.yaml too, or its BMC is still read"
        }
        return CommandResult(code: .ok, message: message + "; if its agent comes back, it joins as a new host")
    }

    /// Under the decisions lock: checks that the host may go, then deletes its records in the store and the
    /// leader's own state.
    private func removeHostRecords(_ hostID: String) async -> Result<ManagerStore.HostRemoval, ClusterRequestError> {
        let managed = await groupManager.host(hostID)
        let stored = ((try? await store.hosts()) ?? []).contains { $0.id == hostID }
        guard managed != nil || stored || power[hostID] != nil || cordons[hostID] != nil else {
            return .failure(.notFound("no host \(hostID)"))
        }
        if managed?.connected == true {
            return .failure(
                .conflict(
                    "\(hostID) is connected: its agent runs, and would join again at once; stop it first "
                        + "(`systemctl stop torpor-agent` on the host, or `torpor host sleep \(hostID)`)"
                )
            )
        }
        if power[hostID]?.state == .waking {
            return .failure(.conflict("\(hostID) is being woken: wait for it, then stop it"))
        }
        if let moves = migrations.hostsWithMigrations()[hostID] {
            return .failure(
                .conflict(
                    "\(hostID) has migrations under way (\(moves.incoming) in, \(moves.outgoing) out): wait for "
                        + "them or cancel them (`torpor vm migrate-cancel VM`)"
                )
            )
        }
        let removal: ManagerStore.HostRemoval
        do {
            removal = try await store.removeHost(hostID)
        } catch .hostInUse(let host, let vms) {
            return .failure(
                .conflict(
                    "\(host) still has VMs: \(vms.joined(separator: ", ")); `torpor host drain \(host)` moves running "
                        + "ones away, destroy the others first"
                )
            )
        } catch {
            return .failure(.failed("cannot remove \(hostID) from the state: \(error)"))
        }
        power[hostID] = nil
        storedPowerStates[hostID] = nil
        cordons[hostID] = nil
        migrationURIs[hostID] = nil
        return .success(removal)
    }
}
