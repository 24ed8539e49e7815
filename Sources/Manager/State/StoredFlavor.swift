import Foundation
import GRDB

/// A named instance type. `id` is SQLite's AUTOINCREMENT rowid: stable across restarts and never reused, so
/// clients that keep numeric ids (Hypervisor-Coordinator's `tid`) keep meaning the same flavor.
public struct StoredFlavor: Codable, Equatable, Sendable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "flavor"
    public static let databaseDateEncodingStrategy = DatabaseDateEncodingStrategy.timeIntervalSince1970
    public static let databaseDateDecodingStrategy = DatabaseDateDecodingStrategy.timeIntervalSince1970

    public var id: Int64?
    public var name: String
    public var virtualCPUs: Int
    public var memoryBytes: Int64
    /// 0: each VM's disk is its image's size.
    public var diskBytes: Int64
    public var createdAt: Date

    public init(
        id: Int64? = nil,
        name: String,
        virtualCPUs: Int,
        memoryBytes: Int64,
        diskBytes: Int64,
        createdAt: Date = Date()
    ) {
        self.id = id
        self.name = name
        self.virtualCPUs = virtualCPUs
        self.memoryBytes = memoryBytes
        self.diskBytes = diskBytes
        self.createdAt = createdAt
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}
