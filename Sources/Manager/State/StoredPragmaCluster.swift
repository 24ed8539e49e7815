import GRDB

/// A virtual cluster booted from a pragma_boot `vc-in.xml` (docs/pragma.md); the row goes with its cluster.
public struct StoredPragmaCluster: Codable, Equatable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "pragmaCluster"

    public var name: String
    /// The frontend VM's name; every other VM of the cluster is a compute.
    public var frontend: String
    /// How long the computes wait after the frontend started (its `boot_dependency`).
    public var computeDelaySeconds: Int
    /// The cluster's own directory of overlays and ISOs.
    public var directory: String

    public init(name: String, frontend: String, computeDelaySeconds: Int, directory: String) {
        self.name = name
        self.frontend = frontend
        self.computeDelaySeconds = computeDelaySeconds
        self.directory = directory
    }
}

extension ManagerStore {
    /// Stores the cluster's VMs, their leases and its pragma record in one transaction after defining it.
    public func addPragmaCluster(
        _ cluster: StoredPragmaCluster,
        vms: [StoredVM],
        leases: [Lease]
    ) async throws(ManagerStoreError) {
        try await defineVirtualCluster(cluster.name)
        do {
            try await write { db in
                try cluster.insert(db)
                try Self.insert(db, vms, leases: leases)
            }
        } catch {
            try? await undefineVirtualCluster(cluster.name)
            throw error
        }
    }

    public func pragmaCluster(named name: String) async throws(ManagerStoreError) -> StoredPragmaCluster? {
        try await read { db in try StoredPragmaCluster.fetchOne(db, key: name) }
    }
}
