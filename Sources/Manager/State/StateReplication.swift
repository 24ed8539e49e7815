import Foundation
import GRDB
import Synchronization

/// Where a `ManagerStore` copies every write (docs/ha.md, "State in etcd"): a coordinated manager's etcd.
/// `enqueue` is called on GRDB's writer queue inside each write transaction, in commit order, and must not block;
/// the write's caller then awaits `flushed(through:)` before it is told the write is done, so the replica holds
/// everything a caller was told about, while the writer queue stays free for the next write (and the replica may
/// carry several writes in one round trip).
public protocol StateReplica: Sendable {
    /// Queues one transaction's changes; returns its ticket. A throw (a change the replica could never take)
    /// rolls the transaction back.
    func enqueue(_ changes: [ReplicatedChange]) throws(ManagerStoreError) -> UInt64
    /// Returns once the replica holds every change up to `ticket`; throws when it never will (this manager no
    /// longer leads).
    func flushed(through ticket: UInt64) async throws(ManagerStoreError)
}

/// One row of a table, as copied: its rowid and its columns' values.
public struct ReplicatedRow: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case null
        case integer(Int64)
        case real(Double)
        case text(String)
        case blob([UInt8])
    }

    public var table: String
    public var rowID: Int64
    public var columns: [(name: String, value: Value)]

    public init(table: String, rowID: Int64, columns: [(name: String, value: Value)]) {
        self.table = table
        self.rowID = rowID
        self.columns = columns
    }

    public static func == (left: ReplicatedRow, right: ReplicatedRow) -> Bool {
        left.table == right.table && left.rowID == right.rowID && left.columns.map(\.name) == right.columns.map(\.name)
            && left.columns.map(\.value) == right.columns.map(\.value)
    }
}

/// What one write transaction changed.
public enum ReplicatedChange: Sendable, Equatable {
    case put(ReplicatedRow)
    case delete(table: String, rowID: Int64)
    /// An AUTOINCREMENT table's high-water mark (`sqlite_sequence`), so a number is never handed out twice across
    /// a failover.
    case sequence(table: String, value: Int64)
}

/// The whole replicated content of a store: every row of every table and the AUTOINCREMENT marks, with the
/// schema migrations it was written under.
public struct StateSnapshot: Sendable, Equatable {
    public var migrations: [String]
    public var rows: [ReplicatedRow]
    public var sequences: [String: Int64]

    public init(migrations: [String], rows: [ReplicatedRow], sequences: [String: Int64]) {
        self.migrations = migrations
        self.rows = rows
        self.sequences = sequences
    }
}

/// Rows as bytes: a JSON array of `[column, kind, value]` (kind `n` null, `i` integer, `r` real, `t` text, `b`
/// base64 blob; numbers as text so 64-bit integers and doubles round-trip exactly). JSON here is between a
/// manager and etcd, not on Wire.
public enum ReplicatedRowCodec {
    public struct DecodingError: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    public static func encode(_ columns: [(name: String, value: ReplicatedRow.Value)]) -> [UInt8] {
        let array: [[String]] = columns.map { column in
            switch column.value {
            case .null: [column.name, "n", ""]
            case .integer(let value): [column.name, "i", String(value)]
            case .real(let value): [column.name, "r", "\(value)"]
            case .text(let value): [column.name, "t", value]
            case .blob(let value): [column.name, "b", Data(value).base64EncodedString()]
            }
        }
        // Arrays of strings always serialize.
        return Array((try? JSONSerialization.data(withJSONObject: array)) ?? Data("[]".utf8))
    }

    public static func decode(_ bytes: [UInt8]) throws(DecodingError) -> [(name: String, value: ReplicatedRow.Value)] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)), let array = object as? [Any] else {
            throw DecodingError(description: "not a JSON array of columns")
        }
        var columns: [(name: String, value: ReplicatedRow.Value)] = []
        for (index, item) in array.enumerated() {
            guard let triple = item as? [String], triple.count == 3 else {
                throw DecodingError(description: "column \(index) is not [name, kind, value]")
            }
            let (name, kind, text) = (triple[0], triple[1], triple[2])
            let value: ReplicatedRow.Value
            switch kind {
            case "n": value = .null
            case "i":
                guard let number = Int64(text) else { throw DecodingError(description: "column \(name): bad integer") }
                value = .integer(number)
            case "r":
                guard let number = Double(text) else { throw DecodingError(description: "column \(name): bad real") }
                value = .real(number)
            case "t": value = .text(text)
            case "b":
                guard let data = Data(base64Encoded: text) else {
                    throw DecodingError(description: "column \(name): bad base64")
                }
                value = .blob(Array(data))
            default: throw DecodingError(description: "column \(name): unknown kind '\(kind)'")
            }
            columns.append((name, value))
        }
        return columns
    }
}

extension ReplicatedRow.Value {
    init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case .int64(let number): self = .integer(number)
        case .double(let number): self = .real(number)
        case .string(let text): self = .text(text)
        case .blob(let data): self = .blob(Array(data))
        }
    }

    var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case .integer(let number): number.databaseValue
        case .real(let number): number.databaseValue
        case .text(let text): text.databaseValue
        case .blob(let bytes): Data(bytes).databaseValue
        }
    }
}

/// Records which rows each write transaction touches (SQLite's update hook, through GRDB), so `ManagerStore` can
/// copy them before the commit. Cascaded deletes are seen too; GRDB turns off the truncate optimization for an
/// observer of deletions.
final class RowChangeCollector: TransactionObserver, Sendable {
    private struct Touched: Hashable {
        var table: String
        var rowID: Int64
    }
    private let touched = Mutex<[Touched: Bool]>([:])  // value: deleted last
    /// Off until the store replicates: a manager alone pays nothing for it (no update hook, no record of rows).
    private let enabled = Mutex(false)

    func enable() { enabled.withLock { $0 = true } }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
        enabled.withLock { $0 } && ManagerStore.isReplicated(table: eventKind.tableName)
    }

    func databaseDidChange(with event: DatabaseEvent) {
        let key = Touched(table: event.tableName, rowID: event.rowID)
        let deleted = event.kind == .delete
        touched.withLock { $0[key] = deleted }
    }

    func databaseDidCommit(_ db: Database) { clear() }
    func databaseDidRollback(_ db: Database) { clear() }

    func clear() { touched.withLock { $0.removeAll() } }

    /// What the transaction so far changed, read back from `db` (a row inserted and deleted again is a delete),
    /// in table then rowid order; then forgets it.
    func drain(_ db: Database) throws -> [ReplicatedChange] {
        let entries = touched.withLock { touched in
            defer { touched.removeAll() }
            return touched.sorted { ($0.key.table, $0.key.rowID) < ($1.key.table, $1.key.rowID) }
        }
        var changes: [ReplicatedChange] = []
        var tables = Set<String>()
        for (key, deleted) in entries {
            tables.insert(key.table)
            if !deleted, let row = try ManagerStore.row(db, table: key.table, rowID: key.rowID) {
                changes.append(.put(row))
            } else {
                changes.append(.delete(table: key.table, rowID: key.rowID))
            }
        }
        for (table, value) in try ManagerStore.sequences(db) where tables.contains(table) {
            changes.append(.sequence(table: table, value: value))
        }
        return changes
    }
}
