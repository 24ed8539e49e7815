import GRDB

/// A VM as persisted. `state` is what the manager last did or saw; `desiredState` is what the user asked for.
public struct StoredVM: Codable, Equatable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "vm"

    public enum State: String, Codable, Sendable, CaseIterable {
        /// Accepted, not yet handed to an agent.
        case pending
        /// Claimed for starting; only one claim can win (see `ManagerStore.markStarting(vmID:)`).
        case starting
        case running
        case suspended
        /// Shut down or destroyed; `hostID` is kept while the domain stays defined there (after a shutdown).
        case stopped
        case failed
        /// Expected on its host, absent from the host's inventory.
        case missing
        /// Its host stopped heartbeating; the VM may still run. Never started elsewhere until the host is fenced.
        case unreachable
        /// A shutdown was asked and accepted; the guest runs until its host's inventory shows it off.
        case shuttingDown
        /// Found running on two hosts at once (both latest inventories list it): an error an operator resolves.
        case duplicated
    }

    public enum DesiredState: String, Codable, Sendable, CaseIterable {
        case running
        case stopped
    }

    /// The libvirt UUID, as a string.
    public var id: String
    public var name: String
    public var vcName: String
    public var templateXML: String
    public var networkRx: Int
    public var networkTx: Int
    public var virtualCPUs: Int
    public var memoryBytes: Int64
    public var desiredState: DesiredState
    public var hostID: String?
    public var state: State
    public var reason: String?
    /// Restarted elsewhere without being asked when its host fails, once that host is fenced.
    public var highlyAvailable: Bool

    public init(
        id: String,
        name: String,
        vcName: String,
        templateXML: String,
        networkRx: Int = 0,
        networkTx: Int = 0,
        virtualCPUs: Int = 1,
        memoryBytes: Int64 = 0,
        desiredState: DesiredState = .running,
        hostID: String? = nil,
        state: State = .pending,
        reason: String? = nil,
        highlyAvailable: Bool = false
    ) {
        self.id = id
        self.name = name
        self.vcName = vcName
        self.templateXML = templateXML
        self.networkRx = networkRx
        self.networkTx = networkTx
        self.virtualCPUs = virtualCPUs
        self.memoryBytes = memoryBytes
        self.desiredState = desiredState
        self.hostID = hostID
        self.state = state
        self.reason = reason
        self.highlyAvailable = highlyAvailable
    }
}
