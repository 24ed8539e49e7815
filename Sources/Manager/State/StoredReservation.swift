import Foundation
import GRDB

/// Capacity held for a virtual cluster until `until` (docs/reservations.md); the row goes with its cluster.
///
/// Past `until` the cluster's VMs are stopped by a destroy task (`stopTaskID`), retried until it succeeds
/// (`stoppedAt`). A reservation stays expired until it is reserved again; its cluster's VMs are not started meanwhile.
public struct StoredReservation: Codable, Equatable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "reservation"
    public static let databaseDateEncodingStrategy = DatabaseDateEncodingStrategy.timeIntervalSince1970
    public static let databaseDateDecodingStrategy = DatabaseDateDecodingStrategy.timeIntervalSince1970

    public var vcName: String
    public var until: Date
    public var createdAt: Date
    /// The task stopping its VMs after `until`; nil before it was submitted.
    public var stopTaskID: String?
    /// When that task (or a retry) left none of its VMs on a host.
    public var stoppedAt: Date?

    public init(vcName: String, until: Date, createdAt: Date, stopTaskID: String? = nil, stoppedAt: Date? = nil) {
        self.vcName = vcName
        self.until = until
        self.createdAt = createdAt
        self.stopTaskID = stopTaskID
        self.stoppedAt = stoppedAt
    }
}

extension ManagerStore {
    /// Writes the reservation, replacing the cluster's earlier one.
    public func saveReservation(_ reservation: StoredReservation) async throws(ManagerStoreError) {
        try await write { db in
            guard try StoredVirtualCluster.exists(db, key: reservation.vcName) else {
                throw ManagerStoreError.unknownVirtualCluster(reservation.vcName)
            }
            try reservation.save(db)
        }
    }

    public func reservations() async throws(ManagerStoreError) -> [StoredReservation] {
        try await read { db in try StoredReservation.order(Column("vcName")).fetchAll(db) }
    }
}
