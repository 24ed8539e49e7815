import Wire

/// What the group manager knows about one host.
public struct HostRecord: Sendable {
    public enum State: String, Sendable, Hashable, CaseIterable {
        /// Joined and heartbeating.
        case active = "ACTIVE"
        /// Put to sleep by the energy saver.
        case sleeping = "SLEEPING"
        /// A wake was sent; waiting for the agent to rejoin.
        case waking = "WAKING"
        /// Heartbeats stopped without a sleep order.
        case failed = "FAILED"
    }

    public var description: AgentDescription
    public var state: State
    /// When `state` last changed (join, failure, sleep, wake).
    public var stateSince: ContinuousClock.Instant?
    public var joinedAt: ContinuousClock.Instant
    public var lastHeartbeat: ContinuousClock.Instant
    public var lastReport: ContinuousClock.Instant?
    public var inventory: Inventory?
    /// The agent has sent an inventory on its current connection (the one kept from before may be stale).
    public var inventorySinceJoin = false
    public var heartbeats: UInt64 = 0
    public var reports: RingBufferOfReports
    /// The agent's connection is open. FAILED still comes from the heartbeat timeout: a closed connection alone
    /// may be a short network blip the agent reconnects through.
    public var connected = false
    /// Which connection `connected` belongs to, so an old connection ending late does not clear a newer one.
    var connectionID: UInt64 = 0

    public var hostID: String { description.hostID }
}

/// The newest reports of a host, fixed capacity.
public struct RingBufferOfReports: Sendable {
    public let capacity: Int
    private var storage: [MonitoringReport] = []
    private var head = 0

    public init(capacity: Int) {
        self.capacity = capacity
        storage.reserveCapacity(capacity)
    }

    public var count: Int { storage.count }

    public mutating func append(_ report: MonitoringReport) {
        if storage.count < capacity {
            storage.append(report)
        } else {
            storage[head] = report
            head = (head + 1) % capacity
        }
    }

    public var last: MonitoringReport? {
        storage.isEmpty ? nil : storage[(head + storage.count - 1) % storage.count]
    }
}
