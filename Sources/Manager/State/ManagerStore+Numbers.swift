import GRDB

/// Numbers for hosts and VMs, for APIs whose clients keep integers (Hypervisor-Coordinator's pmid and vmid). A
/// number is given the first time a host or VM is asked about and kept in the database, so it stays the same across
/// restarts; a VM's number goes with the VM and is never given again.
extension ManagerStore {
    public enum NumberedKind: String, Sendable {
        case host
        case vm

        var table: String { self == .host ? "hostNumber" : "vmNumber" }
        var column: String { self == .host ? "hostID" : "vmID" }
    }

    /// The number of each id, given now to those without one, in one transaction.
    public func numbers(of kind: NumberedKind, for ids: [String]) async throws(ManagerStoreError) -> [String: Int64] {
        try await write { db in
            var result: [String: Int64] = [:]
            for id in ids {
                if let number = try Int64.fetchOne(
                    db,
                    sql: "SELECT number FROM \(kind.table) WHERE \(kind.column) = ?",
                    arguments: [id]
                ) {
                    result[id] = number
                } else {
                    try db.execute(sql: "INSERT INTO \(kind.table) (\(kind.column)) VALUES (?)", arguments: [id])
                    result[id] = db.lastInsertedRowID
                }
            }
            return result
        }
    }

    /// The id a number was given to; nil when none has it.
    public func id(of kind: NumberedKind, number: Int64) async throws(ManagerStoreError) -> String? {
        try await read { db in
            try String.fetchOne(
                db,
                sql: "SELECT \(kind.column) FROM \(kind.table) WHERE number = ?",
                arguments: [number]
            )
        }
    }
}
