import Foundation
import GRDB

/// A GENI slice's record (docs/geni.md): which slice URN its virtual cluster holds and the nodes its request
/// RSpec asked for; the row goes with its cluster.
public struct StoredGENISlice: Codable, Equatable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "geniSlice"

    public struct Node: Codable, Equatable, Sendable {
        public var clientID: String
        public var componentID: String?
        public var sliverType: String
        public var diskImage: String
    }

    public var vcName: String
    public var sliceURN: String
    /// JSON in the row: read and written only as a whole.
    public var nodes: [Node]
    /// Whether Provision made its VMs.
    public var provisioned: Bool
}

extension ManagerStore {
    public func saveGENISlice(_ slice: StoredGENISlice) async throws(ManagerStoreError) {
        try await write { db in
            guard try StoredVirtualCluster.exists(db, key: slice.vcName) else {
                throw ManagerStoreError.unknownVirtualCluster(slice.vcName)
            }
            try slice.save(db)
        }
    }

    public func geniSlice(vcName: String) async throws(ManagerStoreError) -> StoredGENISlice? {
        try await read { db in try StoredGENISlice.fetchOne(db, key: vcName) }
    }

    public func geniSlices() async throws(ManagerStoreError) -> [StoredGENISlice] {
        try await read { db in try StoredGENISlice.order(Column("vcName")).fetchAll(db) }
    }
}
