import Foundation
import GRDB

/// Forgetting a retired host (`torpor host remove`, `GroupLeader.removeHost`).
extension ManagerStore {
    /// What a host's removal did to the state.
    public struct HostRemoval: Sendable, Equatable {
        /// The host had a row (it joined at least once).
        public var hadRow: Bool
        /// Stopped, failed or pending VMs that still named the host: they lose it and are placed anew when started.
        public var vmsUnplaced: [String]
    }

    /// Deletes `hostID`'s rows (the host, its power and capabilities, its cordon, measured idle power, group manager
    /// assignment and Hypervisor-Coordinator number) in one transaction, and takes the host away from VMs that are
    /// stopped, failed or pending there. Refuses, changing nothing, when a VM in any other state names the host:
    /// the caller checked, and this checks again in the same transaction.
    public func removeHost(_ hostID: String) async throws(ManagerStoreError) -> HostRemoval {
        try await write { db in
            let idle: [StoredVM.State] = [.stopped, .failed, .pending]
            let vms = try StoredVM.filter(Column("hostID") == hostID).order(Column("name")).fetchAll(db)
            let busy = vms.filter { !idle.contains($0.state) }
            guard busy.isEmpty else {
                throw ManagerStoreError.hostInUse(hostID, vms: busy.map { "\($0.name) (\($0.state.rawValue))" })
            }
            try db.execute(
                sql: "UPDATE vm SET hostID = NULL WHERE hostID = ?",
                arguments: [hostID]
            )
            let hadRow = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM host WHERE id = ?", arguments: [hostID]) ?? 0
            for (table, column) in [
                ("host", "id"), ("hostIdlePower", "hostID"), ("hostCordon", "hostID"), ("hostAssignment", "hostID"),
                ("hostNumber", "hostID"),
            ] {
                try db.execute(sql: "DELETE FROM \(table) WHERE \(column) = ?", arguments: [hostID])
            }
            return HostRemoval(hadRow: hadRow > 0, vmsUnplaced: vms.map(\.name))
        }
    }
}
