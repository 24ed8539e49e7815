import Foundation
import GRDB

/// Copying the store to a replica (a coordinated leader's etcd) and rebuilding it from one (docs/ha.md).
extension ManagerStore {
    /// From now on each write queues its changes for `replica` and returns once the replica holds them.
    public func startReplicating(to replica: any StateReplica) {
        changes.enable()
        self.replica.withLock { $0 = replica }
    }

    /// `body`, then (with a replica) what it changed queued for the replica, inside the write transaction; with
    /// the replica and the ticket to await once the transaction is committed.
    func replicated<T>(
        _ db: Database,
        _ body: (Database) throws -> T
    ) throws -> (result: T, pending: (replica: any StateReplica, ticket: UInt64)?) {
        changes.clear()
        let result = try body(db)
        guard let replica = replica.withLock({ $0 }) else { return (result, nil) }
        let changed = try changes.drain(db)
        guard !changed.isEmpty else { return (result, nil) }
        return (result, (replica, try replica.enqueue(changed)))
    }

    /// Every table but SQLite's and GRDB's own.
    static func isReplicated(table: String) -> Bool {
        !table.hasPrefix("sqlite_") && table != "grdb_migrations"
    }

    static func replicatedTables(_ db: Database) throws -> [String] {
        try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .filter(isReplicated(table:))
    }

    static func row(_ db: Database, table: String, rowID: Int64) throws -> ReplicatedRow? {
        guard
            let row = try Row.fetchOne(
                db,
                sql: "SELECT * FROM \(table.quotedDatabaseIdentifier) WHERE rowid = ?",
                arguments: [rowID]
            )
        else { return nil }
        return ReplicatedRow(table: table, rowID: rowID, columns: columns(of: row))
    }

    /// A fetched row's columns as copied, leaving out the first `skipping` (a rowid selected alongside `*`).
    static func columns(of row: Row, skipping: Int = 0) -> [(name: String, value: ReplicatedRow.Value)] {
        row.columnNames.dropFirst(skipping).map { ($0, ReplicatedRow.Value(row[$0] as DatabaseValue)) }
    }

    static func sequences(_ db: Database) throws -> [String: Int64] {
        guard try db.tableExists("sqlite_sequence") else { return [:] }
        var result: [String: Int64] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT name, seq FROM sqlite_sequence") {
            result[row["name"]] = row["seq"]
        }
        return result
    }

    /// The migrations this store's schema went through, in order.
    static func appliedMigrations(_ db: Database) throws -> [String] {
        try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")
    }

    /// The migrations this build knows.
    public static var knownMigrations: [String] { migrator.migrations }

    /// Everything a replica holds: every row, the AUTOINCREMENT marks and the schema's migrations.
    public func snapshot() async throws(ManagerStoreError) -> StateSnapshot {
        try await read { db in
            var rows: [ReplicatedRow] = []
            for table in try Self.replicatedTables(db) {
                for row in try Row.fetchAll(
                    db,
                    sql: "SELECT rowid AS \"torpor.rowid\", * FROM \(table.quotedDatabaseIdentifier) ORDER BY rowid"
                ) {
                    let rowID: Int64 = row["torpor.rowid"]
                    rows.append(ReplicatedRow(table: table, rowID: rowID, columns: Self.columns(of: row, skipping: 1)))
                }
            }
            return StateSnapshot(
                migrations: try Self.appliedMigrations(db),
                rows: rows,
                sequences: try Self.sequences(db)
            )
        }
    }

    /// Replaces the whole content with `snapshot` in one transaction (not copied to the replica: it came from
    /// there). A snapshot written under migrations this build does not know, or naming a table or column it does
    /// not have, is refused and changes nothing.
    public func restore(_ snapshot: StateSnapshot) async throws(ManagerStoreError) {
        let path = self.path
        let unknown = snapshot.migrations.filter { !Self.knownMigrations.contains($0) }
        guard unknown.isEmpty else {
            throw .replication(
                "the replicated state was written by a newer torpor-manager (schema migrations "
                    + "\(unknown.map { "'\($0)'" }.joined(separator: ", ")) unknown here); upgrade this manager"
            )
        }
        do {
            try await pool.write { db in
                // Rows come in table order, not in the order foreign keys need: checked at the commit instead.
                try db.execute(sql: "PRAGMA defer_foreign_keys = ON")
                let tables = try Self.replicatedTables(db)
                for table in tables { try db.execute(sql: "DELETE FROM \(table.quotedDatabaseIdentifier)") }
                var columnsOfTable: [String: Set<String>] = [:]
                for table in tables { columnsOfTable[table] = Set(try db.columns(in: table).map(\.name)) }
                for row in snapshot.rows {
                    guard let known = columnsOfTable[row.table] else {
                        throw ManagerStoreError.replication(
                            "the replicated state has a table '\(row.table)' this manager does not"
                        )
                    }
                    if let column = row.columns.first(where: { !known.contains($0.name) }) {
                        throw ManagerStoreError.replication(
                            "the replicated state's table '\(row.table)' has a column '\(column.name)' this manager does not"
                        )
                    }
                    let names = ["rowid"] + row.columns.map { $0.name.quotedDatabaseIdentifier }
                    let marks = Array(repeating: "?", count: names.count).joined(separator: ", ")
                    try db.execute(
                        sql:
                            "INSERT INTO \(row.table.quotedDatabaseIdentifier) (\(names.joined(separator: ", "))) VALUES (\(marks))",
                        arguments: StatementArguments(
                            [row.rowID.databaseValue] + row.columns.map(\.value.databaseValue)
                        )
                    )
                }
                if try db.tableExists("sqlite_sequence") {
                    for (table, value) in snapshot.sequences where tables.contains(table) {
                        try db.execute(sql: "DELETE FROM sqlite_sequence WHERE name = ?", arguments: [table])
                        try db.execute(
                            sql: "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)",
                            arguments: [table, value]
                        )
                    }
                }
            }
        } catch let error as ManagerStoreError {
            throw error
        } catch {
            throw .database(path: path, message: "restoring the replicated state: \(error)")
        }
    }
}
