import Foundation
import Logging
import Wire

/// `torpor host remove HOST`: a host retired from the cluster (sold, broken for good, renamed) is forgotten, so it
/// stops being listed, counted and woken. Only a host that is down and empty can go: its agent not connected, no
/// migration to or from it, and no VM placed on it unless the operator confirms the machine is off for good
/// (`--confirm-off`, as Pacemaker's `stonith_admin --confirm`), when its VMs are recorded stopped without a host
/// (docs/manager.md, "Retiring a host"). Should its agent come back anyway, it joins as a new host.
extension GroupLeader {
    func removeHost(_ hostID: String, confirmedOff: Bool = false) async -> CommandResult {
        await lockDecisions()
        let removal: ManagerStore.HostRemoval
        switch await removeHostRecords(hostID, confirmedOff: confirmedOff) {
        case .success(let done): removal = done
        case .failure(let refusal):
            unlockDecisions()
            return refusal.result
        }
        // Under the lock, so that no energy decision meets the host between its records and its registry entry.
        _ = await groupManager.forget(hostID)
        unlockDecisions()
        let stoppedNames = removal.vmsStopped.map(\.name)
        logger.notice(
            "host removed",
            metadata: [
                .host: "\(hostID)", .vms: "\((stoppedNames + removal.vmsUnplaced).joined(separator: ","))",
                .reason: "\(confirmedOff ? "confirmed off by the operator" : "down and empty")",
            ]
        )
        var message = "\(hostID) removed: no longer listed, counted or woken"
        // The operator's confirmation is the fence: highly available VMs restart elsewhere at once, as after one.
        let restarting = removal.vmsStopped.filter(\.highlyAvailable)
        var restarts: [String] = []
        for vm in restarting {
            do throws(ClusterRequestError) {
                let task = try await submit("start", cluster: vm.vcName, vm: vm.name)
                restarts.append("\(vm.name) (task \(task.id))")
                logger.notice(
                    "restarting a highly available VM elsewhere",
                    metadata: [.vm: "\(vm.name)", .host: "\(hostID)", .task: "\(task.id)"]
                )
            } catch {
                restarts.append("\(vm.name) (not restarted: \(error))")
            }
        }
        let others = removal.vmsStopped.filter { !$0.highlyAvailable }.map(\.name)
        if !others.isEmpty {
            message +=
                "; \(others.joined(separator: ", ")), recorded on it, \(others.count == 1 ? "is" : "are") stopped now, "
                + "without a host: start \(others.count == 1 ? "it" : "them") again elsewhere with `torpor vc start`"
        }
        if !restarts.isEmpty {
            message += "; highly available, restarting elsewhere: \(restarts.joined(separator: ", "))"
        }
        if !removal.vmsUnplaced.isEmpty {
            let names = removal.vmsUnplaced.joined(separator: ", ")
            message +=
                "; \(names) (not running) \(removal.vmsUnplaced.count == 1 ? "is" : "are") placed anew "
                + "when started"
        }
        if configuration.hostWake[hostID] != nil {
            message +=
                "; remove its entry under `hosts:` in manager.yaml too, or its BMC is read again at the next start"
        }
        return CommandResult(code: .ok, message: message + "; if its agent comes back, it joins as a new host")
    }

    /// Under the decisions lock: checks that the host may go, then deletes its records in the store and the
    /// leader's own state.
    private func removeHostRecords(
        _ hostID: String,
        confirmedOff: Bool
    ) async -> Result<ManagerStore.HostRemoval, ClusterRequestError> {
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
        if confirmedOff {
            // A task acting on one of its VMs decides that VM's state itself: not taken from under it.
            let onHost = (try? await store.vms(onHost: hostID)) ?? []
            if let owned = onHost.first(where: { vmLifecycle.owner(of: $0.id) != nil }),
                let task = vmLifecycle.owner(of: owned.id)
            {
                return .failure(.conflict("\(owned.name) on \(hostID) is being acted on by task \(task): wait for it"))
            }
        }
        let removal: ManagerStore.HostRemoval
        do {
            removal = try await store.removeHost(
                hostID,
                confirmedOff: confirmedOff,
                reason: "\(hostID) removed, confirmed off by the operator"
            )
        } catch .hostInUse(let host, let vms) {
            return .failure(
                .conflict(
                    "\(host) still has VMs: \(vms.joined(separator: ", ")); `torpor host drain \(host)` moves running "
                        + "ones away; if the machine is off for good, `torpor host remove \(host) --confirm-off` "
                        + "records them stopped"
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
