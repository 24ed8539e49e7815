import GRDB

/// Each host's idle-awake power as the power monitor measured it (`PowerMeter.measuredIdleWatts`): in the state, so
/// a restarted or newly elected leader still counts what a host asleep since before it saves.
extension ManagerStore {
    /// Records each host's measured idle-awake watts, in one write.
    public func setIdleWatts(_ watts: [String: Double]) async throws(ManagerStoreError) {
        guard !watts.isEmpty else { return }
        try await write { db in
            for (hostID, value) in watts.sorted(by: { $0.key < $1.key }) {
                try db.execute(
                    sql: """
                        INSERT INTO hostIdlePower (hostID, watts) VALUES (?, ?)
                        ON CONFLICT(hostID) DO UPDATE SET watts = excluded.watts
                        """,
                    arguments: [hostID, value]
                )
            }
        }
    }

    /// Every host's last recorded idle-awake watts, by host id.
    public func idleWatts() async throws(ManagerStoreError) -> [String: Double] {
        try await read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT hostID, watts FROM hostIdlePower")
            return Dictionary(
                rows.map { (row: Row) in (row["hostID"] as String, row["watts"] as Double) },
                uniquingKeysWith: { first, _ in first }
            )
        }
    }
}
