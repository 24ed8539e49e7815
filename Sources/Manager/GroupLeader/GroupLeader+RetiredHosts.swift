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
        defer { unlockDecisions() }
        let managed = await groupManager.host(hostID)
        let stored = ((try? await store.hosts()) ?? []).contains { $0.id == hostID }
        guard managed != nil || stored || power[hostID] != nil || cordons[hostID] != nil else {
            return CommandResult(code: .notFound, message: "no host \(hostID)")
        }
        if managed?.connected == true {
            return CommandResult(
                code: .conflict,
                message: "\(hostID) is connected: its agent runs, and would join again at once; stop it first "
                    + "(`systemctl stop torpor-agent` on the host, or `torpor host sleep \(hostID)`)"
            )
        }
        if power[hostID]?.state == .waking {
            return CommandResult(code: .conflict, message: "\(hostID) is being woken: wait for it, then stop it")
        }
        if let moves = migrations.hostsWithMigrations()[hostID] {
            return CommandResult(
                code: .conflict,
                message: "\(hostID) has migrations under way (\(moves.incoming) in, \(moves.outgoing) out): wait "
                    + "for them or cancel them (`torpor vm migrate-cancel VM`)"
            )
        }
        let removal: ManagerStore.HostRemoval
        do {
            removal = try await store.removeHost(hostID)
        } catch .hostInUse(let host, let vms) {
            return CommandResult(
                code: .conflict,
                message: "\(host) still has VMs: \(vms.joined(separator: ", ")); `torpor host drain \(host)` "
                    + "moves running ones away, destroy the others first"
            )
        } catch {
            return CommandResult(code: .internalError, message: "cannot remove \(hostID) from the state: \(error)")
        }
        _ = await groupManager.forget(hostID)
        power[hostID] = nil
        storedPowerStates[hostID] = nil
        cordons[hostID] = nil
        migrationURIs[hostID] = nil
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
}
