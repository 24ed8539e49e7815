import Foundation
import GRDB

/// Which group manager each host was dealt to last (`RemoteGroupManagers`): in the state, so it is in etcd with
/// the rest and a new leader starts from it.
extension ManagerStore {
    /// Records that `hostID` is with `groupManagerID` now.
    public func setHostAssignment(_ hostID: String, to groupManagerID: String) async throws(ManagerStoreError) {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO hostAssignment (hostID, groupManagerID, assignedAt) VALUES (?, ?, ?)
                    ON CONFLICT(hostID) DO UPDATE SET groupManagerID = excluded.groupManagerID,
                        assignedAt = excluded.assignedAt
                    """,
                arguments: [hostID, groupManagerID, Date().timeIntervalSince1970]
            )
        }
    }

    /// Every host's last group manager, by host id.
    public func hostAssignments() async throws(ManagerStoreError) -> [String: String] {
        try await read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT hostID, groupManagerID FROM hostAssignment")
            return Dictionary(
                rows.map { (row: Row) in (row["hostID"] as String, row["groupManagerID"] as String) },
                uniquingKeysWith: { first, _ in first }
            )
        }
    }
}
