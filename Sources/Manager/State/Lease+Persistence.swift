import GRDB

// Leases are stored as they are, so `ManagerStore.leases()` feeds `AddressPool.restore(leases:)` directly.
extension Lease: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "lease"
}
