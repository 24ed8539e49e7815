import Foundation
import GRDB

/// A host taken out of service for maintenance: no VM is placed or migrated onto it and the energy saver leaves it
/// alone until it is uncordoned (`GroupLeader.cordon`).
public struct HostCordon: Sendable, Equatable {
    public var reason: String
    public var since: Date

    public init(reason: String, since: Date) {
        self.reason = reason
        self.since = since
    }
}

/// Cordoned hosts in the state, so they stay out of service across a restart or a failover.
extension ManagerStore {
    /// Records `hostID` as cordoned (replacing an earlier record's reason and time).
    public func setCordon(_ cordon: HostCordon, ofHost hostID: String) async throws(ManagerStoreError) {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO hostCordon (hostID, reason, since) VALUES (?, ?, ?)
                    ON CONFLICT(hostID) DO UPDATE SET reason = excluded.reason, since = excluded.since
                    """,
                arguments: [hostID, cordon.reason, cordon.since.timeIntervalSince1970]
            )
        }
    }

    /// Puts `hostID` back in service; nothing happens when it was not cordoned.
    public func removeCordon(ofHost hostID: String) async throws(ManagerStoreError) {
        try await write { db in
            try db.execute(sql: "DELETE FROM hostCordon WHERE hostID = ?", arguments: [hostID])
        }
    }

    /// Every cordoned host, by host id.
    public func cordons() async throws(ManagerStoreError) -> [String: HostCordon] {
        try await read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT hostID, reason, since FROM hostCordon")
            return Dictionary(
                rows.map { (row: Row) in
                    (
                        row["hostID"] as String,
                        HostCordon(reason: row["reason"], since: Date(timeIntervalSince1970: row["since"]))
                    )
                },
                uniquingKeysWith: { first, _ in first }
            )
        }
    }
}
