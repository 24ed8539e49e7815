import Foundation
import GRDB

/// A named group of VMs; undefining it deletes its VMs and their leases (ON DELETE CASCADE).
public struct StoredVirtualCluster: Codable, Equatable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "virtualCluster"
    public static let databaseDateEncodingStrategy = DatabaseDateEncodingStrategy.timeIntervalSince1970
    public static let databaseDateDecodingStrategy = DatabaseDateDecodingStrategy.timeIntervalSince1970

    public var name: String
    public var createdAt: Date

    public init(name: String, createdAt: Date) {
        self.name = name
        self.createdAt = createdAt
    }
}
