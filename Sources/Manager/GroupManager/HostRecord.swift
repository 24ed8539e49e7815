import Rings
import Wire

/// What the group manager knows about one host.
public struct HostRecord: Sendable {
    public enum State: String, Sendable, Hashable, CaseIterable {
        /// Joined and heartbeating.
        case active = "ACTIVE"
        /// Put to sleep by the energy saver, or announced going down by its agent (PowerNotice).
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
    public var reports: RingBuffer<MonitoringReport>
    /// Reports put in `reports` since the join, evicted ones included: a leader link sends only the newer ones.
    public var reportsRecorded: UInt64 = 0
    /// Counts the inventories recorded, so a leader link knows the VM list changed since its last report.
    public var inventoryRevision: UInt64 = 0
    /// The agent's connection is open. FAILED still comes from the heartbeat timeout: a closed connection alone
    /// may be a short network blip the agent reconnects through.
    public var connected = false
    /// What the agent said when its libvirtd stopped answering (HypervisorStatus); nil while it answers. A rejoin
    /// clears it: an agent whose libvirtd still does not answer says so again after its hello.
    public var hypervisorProblem: String?
    /// Which connection `connected` belongs to, so an old connection ending late does not clear a newer one.
    var connectionID: UInt64 = 0

    public var hostID: String { description.hostID }
}
