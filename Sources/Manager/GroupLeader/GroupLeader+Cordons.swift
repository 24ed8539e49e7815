import Foundation
import Logging
import Wire

/// `torpor host cordon|uncordon HOST`: a host out of service for maintenance. Starts never place a VM on it, no
/// migration (asked for, or planned by relocation or consolidation) goes to it, and the energy saver neither puts
/// it to sleep nor wakes it; its VMs keep running, and `torpor host drain` moves them away. Recorded in the store,
/// so it holds across a restart or a failover (docs/manager.md, "Maintenance").
extension GroupLeader {
    func cordon(_ hostID: String, reason: String) async -> CommandResult {
        await lockDecisions()
        defer { unlockDecisions() }
        guard await isKnown(hostID) else { return CommandResult(code: .notFound, message: "no host \(hostID)") }
        let earlier = cordons[hostID]
        let cordon = HostCordon(reason: reason, since: earlier?.since ?? Date())
        do {
            try await store.setCordon(cordon, ofHost: hostID)
        } catch {
            return CommandResult(code: .internalError, message: "cannot record the cordon of \(hostID): \(error)")
        }
        cordons[hostID] = cordon
        logger.notice("host cordoned", metadata: [.host: "\(hostID)", .reason: "\(reason)"])
        let running = ((try? await store.vms(onHost: hostID)) ?? []).filter { Self.occupying.contains($0.state) }
        let vms =
            running.isEmpty
            ? "it runs no VM"
            : "its \(running.count == 1 ? "VM keeps" : "\(running.count) VMs keep") running "
                + "(`torpor host drain \(hostID)` moves them)"
        return CommandResult(
            code: .ok,
            message: (earlier == nil ? "\(hostID) cordoned" : "\(hostID) was already cordoned; reason updated")
                + ": no VM is placed or migrated onto it and the energy saver leaves it alone; \(vms)"
                + Self.incomingMigrationsNote(migrations.moves.values.filter { $0.destination == hostID })
        )
    }

    func uncordon(_ hostID: String) async -> CommandResult {
        await lockDecisions()
        defer { unlockDecisions() }
        guard await isKnown(hostID) || cordons[hostID] != nil else {
            return CommandResult(code: .notFound, message: "no host \(hostID)")
        }
        guard cordons[hostID] != nil else { return CommandResult(code: .ok, message: "\(hostID) was not cordoned") }
        do {
            try await store.removeCordon(ofHost: hostID)
        } catch {
            return CommandResult(code: .internalError, message: "cannot record the uncordon of \(hostID): \(error)")
        }
        cordons[hostID] = nil
        logger.notice("host back in service", metadata: [.host: "\(hostID)"])
        return CommandResult(code: .ok, message: "\(hostID) is back in service")
    }

    /// What a cordon does to migrations already accepted onto the host: one under way finishes (the operator can
    /// cancel it), one still waiting for a slot is refused when its turn comes.
    static func incomingMigrationsNote(_ moves: [MigrationMachine.Move]) -> String {
        let sorted = moves.sorted { $0.vmName < $1.vmName }
        let running = sorted.filter(\.running)
        let waiting = sorted.filter { !$0.running }
        var note = ""
        if !running.isEmpty {
            let named = running.map { "\($0.vmName) (task \($0.taskID))" }.joined(separator: ", ")
            note +=
                running.count == 1
                ? "; the migration of \(named) onto it is under way and finishes unless cancelled "
                    + "(`torpor vm migrate-cancel \(running[0].vmName)`)"
                : "; the migrations of \(named) onto it are under way and finish unless cancelled "
                    + "(`torpor vm migrate-cancel VM`)"
        }
        if !waiting.isEmpty {
            let named = waiting.map { "\($0.vmName) (task \($0.taskID))" }.joined(separator: ", ")
            note +=
                "; the waiting migration\(waiting.count == 1 ? "" : "s") of \(named) onto it "
                + "will be refused"
        }
        return note
    }

    /// Every cordoned host's reason, for `torpor hosts`.
    public func cordonReasons() -> [String: String] {
        cordons.mapValues(\.reason)
    }

    func restoreCordons() async {
        do {
            for (host, cordon) in try await store.cordons() where cordons[host] == nil {
                cordons[host] = cordon
            }
        } catch {
            logger.error("cannot read the cordoned hosts", metadata: [.error: "\(error)"])
        }
    }

    /// A host the group manager knows or the store records.
    private func isKnown(_ hostID: String) async -> Bool {
        if await groupManager.hosts().contains(where: { $0.hostID == hostID }) { return true }
        return ((try? await store.hosts()) ?? []).contains { $0.id == hostID }
    }
}
