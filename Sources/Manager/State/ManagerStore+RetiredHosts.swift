import Foundation
import GRDB

/// Forgetting a retired host (`torpor host remove`, `GroupLeader.removeHost`).
extension ManagerStore {
    /// What a host's removal did to the state.
    public struct HostRemoval: Sendable, Equatable {
        /// Stopped, failed or pending VMs that still named the host: they lose it and are placed anew when started.
        public var vmsUnplaced: [String]
        /// VMs recorded on the host in any other state (running, unreachable…), recorded stopped without a host
        /// because the operator confirmed the machine off: as they were before.
        public var vmsStopped: [StoredVM]
    }

    /// Deletes `hostID`'s rows (the host, its power and capabilities, its cordon, measured idle power, group manager
    /// assignment and Hypervisor-Coordinator number) in one transaction, and takes the host away from VMs that are
    /// stopped, failed or pending there. A VM in any other state keeps the host: the removal is refused, changing
    /// nothing, unless `confirmedOff` (the operator says the machine is off for good), which records such VMs
    /// stopped, without a host, with `reason`. The caller checked; this checks again in the same transaction.
    public func removeHost(
        _ hostID: String,
        confirmedOff: Bool = false,
        reason: String = ""
    ) async throws(ManagerStoreError) -> HostRemoval {
        try await write { db in
            let idle: [StoredVM.State] = [.stopped, .failed, .pending]
            let vms = try StoredVM.filter(Column("hostID") == hostID).order(Column("name")).fetchAll(db)
            let busy = vms.filter { !idle.contains($0.state) }
            guard busy.isEmpty || confirmedOff else {
                throw ManagerStoreError.hostInUse(hostID, vms: busy.map { "\($0.name) (\($0.state.rawValue))" })
            }
            for vm in busy {
                try StoredVM.filter(key: vm.id).updateAll(
                    db,
                    Column("hostID").set(to: nil),
                    Column("state").set(to: StoredVM.State.stopped.rawValue),
                    Column("reason").set(to: reason)
                )
            }
            try db.execute(sql: "UPDATE vm SET hostID = NULL WHERE hostID = ?", arguments: [hostID])
            for (table, column) in [
                ("host", "id"), ("hostIdlePower", "hostID"), ("hostCordon", "hostID"), ("hostAssignment", "hostID"),
                ("hostNumber", "hostID"),
            ] {
                try db.execute(sql: "DELETE FROM \(table) WHERE \(column) = ?", arguments: [hostID])
            }
            return HostRemoval(
                vmsUnplaced: vms.filter { idle.contains($0.state) }.map(\.name),
                vmsStopped: busy
            )
        }
    }
}
