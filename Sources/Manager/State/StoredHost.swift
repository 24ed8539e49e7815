import Foundation
import GRDB

/// A host as persisted: enough to show the cluster after a restart before agents rejoin.
public struct StoredHost: Codable, Equatable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "host"
    // REAL seconds since 1970, as the schema says, rather than GRDB's default text dates.
    public static let databaseDateEncodingStrategy = DatabaseDateEncodingStrategy.timeIntervalSince1970
    public static let databaseDateDecodingStrategy = DatabaseDateDecodingStrategy.timeIntervalSince1970

    public var id: String
    public var hostname: String
    public var state: HostRecord.State
    public var cores: Int
    public var memoryBytes: Int
    public var lastSeen: Date
    /// The NIC's rates and the agent's capabilities (`AgentCapabilities.rawValue`) from its last Hello, so a host
    /// asleep when the manager restarts is planned on as it was (0 in rows from before they were kept).
    public var nicRxBytesPerSecond: Int
    public var nicTxBytesPerSecond: Int
    public var capabilities: Int

    public init(
        id: String,
        hostname: String,
        state: HostRecord.State,
        cores: Int,
        memoryBytes: Int,
        lastSeen: Date,
        nicRxBytesPerSecond: Int = 0,
        nicTxBytesPerSecond: Int = 0,
        capabilities: Int = 0
    ) {
        self.id = id
        self.hostname = hostname
        self.state = state
        self.cores = cores
        self.memoryBytes = memoryBytes
        self.lastSeen = lastSeen
        self.nicRxBytesPerSecond = nicRxBytesPerSecond
        self.nicTxBytesPerSecond = nicTxBytesPerSecond
        self.capabilities = capabilities
    }
}
