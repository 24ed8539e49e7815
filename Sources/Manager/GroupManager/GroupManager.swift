import Logging
import Placement
import Transport
import Wire

/// One host as the group leader sees it when it plans.
public struct ManagedHost: Sendable, Hashable {
    public var hostID: String
    public var capacity: HostCapacity
    public var state: HostRecord.State
    public var connected: Bool
    /// The agent has reported its VMs since it last joined.
    public var hasInventory: Bool
    public var capabilities: AgentCapabilities
    /// What its agent said when its libvirtd stopped answering (HypervisorStatus); nil while it answers. Nothing is
    /// placed or migrated there meanwhile.
    public var hypervisorProblem: String? = nil

    /// ACTIVE, its agent connected and its libvirtd answering: a host VMs may be started on or moved to, as far as
    /// the group manager knows (the energy saver's view of its power comes on top).
    public var isUsable: Bool { state == .active && connected && hypervisorProblem == nil }
}

/// What the group leader asks of the group manager role: its hosts, and commands carried to their agents. Today
/// the group manager runs in the same process; the leader depends only on this protocol so that a group manager
/// in another process (coordinated through etcd) can stand behind it later.
public protocol GroupManagerEndpoint: Sendable {
    func hosts() async -> [ManagedHost]
    /// One host; nil when it never joined (or was forgotten).
    func host(_ hostID: String) async -> ManagedHost?
    /// The host's latest inventory from its current connection; nil before it has sent one.
    func inventory(of hostID: String) async -> Inventory?
    func send(_ command: VMCommand, to hostID: String) async -> CommandResult
    func send(_ command: PowerCommand, to hostID: String) async -> CommandResult
    /// Cancels the migration of a VM at its source (MigrationCancel).
    func send(_ cancel: MigrationCancel, to hostID: String) async -> CommandResult
    func setState(_ state: HostRecord.State, of hostID: String) async
    /// A host the store records asleep, known again after a restart as SLEEPING since `since` and not connected, as
    /// its agent last described it; false (nothing changed) when the host is already known, e.g. because it rejoined.
    func restoreAsleep(_ description: AgentDescription, since: ContinuousClock.Instant) async -> Bool
    /// Forgets a retired host (`torpor host remove`); false, changing nothing, when its agent is connected now.
    func forget(_ hostID: String) async -> Bool
    /// A host the store records whose agent has not come back since the start, known again as FAILED since
    /// `failedSince` and not connected, last heard from at `lastSeen`; false (nothing changed) when it is known.
    func restoreFailed(
        _ description: AgentDescription,
        lastSeen: ContinuousClock.Instant,
        failedSince: ContinuousClock.Instant
    ) async -> Bool
    /// The VM's estimated demand from its host's monitoring (`requested` when it has no samples); nil when no
    /// host lists it.
    func estimate(of vmID: String, requested: ResourceVector) async -> VMEstimate?
}

extension GroupManagerEndpoint {
    public func host(_ hostID: String) async -> ManagedHost? {
        await hosts().first { $0.hostID == hostID }
    }

    /// A group manager that keeps no monitoring has no estimates.
    public func estimate(of vmID: String, requested: ResourceVector) async -> VMEstimate? { nil }

    /// Many VMs' estimates (lower-case UUID → requested); VMs no host lists are absent.
    public func estimates(of requested: [String: ResourceVector]) async -> [String: VMEstimate] {
        var result: [String: VMEstimate] = [:]
        for (id, vector) in requested {
            if let estimate = await estimate(of: id, requested: vector) { result[id] = estimate }
        }
        return result
    }
}

/// What the group manager tells the group leader about its hosts.
public protocol GroupManagerObserver: Sendable {
    /// An agent said hello (first join or rejoin).
    func hostJoined(_ description: AgentDescription) async
    /// Every inventory an agent sends, the first after each (re)join included: the leader reconciles it.
    func inventoryReceived(_ inventory: Inventory, from hostID: String) async
    /// Hosts just marked FAILED by the heartbeat timeout, with the VMs they last reported.
    func hostsFailed(_ hosts: [HostRecord]) async
    /// An agent said its host is about to go down (PowerNotice), whoever ordered it; the registry already marked
    /// it SLEEPING, so its silence is not a failure.
    func hostGoingDown(_ hostID: String, action: PowerCommand.Action, reason: String) async
    /// The agent said its host stays up after all (its power action failed); the registry already made it ACTIVE.
    func hostResumed(_ hostID: String) async
    /// An agent's MigrationProgress push, for the migration task it belongs to.
    func migrationProgress(_ progress: MigrationProgress, from hostID: String) async
}

/// The group manager role: the hosts that joined, their monitoring (the registry), and their command channel.
public struct GroupManager: GroupManagerEndpoint {
    public let registry: HostRegistry
    public let commandTimeout: Duration
    public let logger: Logger

    public init(registry: HostRegistry, commandTimeout: Duration = .seconds(120), logger: Logger) {
        self.registry = registry
        self.commandTimeout = commandTimeout
        self.logger = logger
    }

    public func hosts() async -> [ManagedHost] {
        await registry.all().map(Self.managed)
    }

    public func host(_ hostID: String) async -> ManagedHost? {
        await registry.host(hostID).map(Self.managed)
    }

    private static func managed(_ record: HostRecord) -> ManagedHost {
        ManagedHost(
            hostID: record.hostID,
            capacity: record.description.capacity,
            state: record.state,
            connected: record.connected,
            hasInventory: record.inventorySinceJoin,
            capabilities: record.description.capabilities,
            hypervisorProblem: record.hypervisorProblem
        )
    }

    public func inventory(of hostID: String) async -> Inventory? {
        guard let record = await registry.host(hostID), record.inventorySinceJoin else { return nil }
        return record.inventory
    }

    public func send(_ command: VMCommand, to hostID: String) async -> CommandResult {
        await request(.vmCommand(command), to: hostID, timeout: command.replyTimeout(default: commandTimeout))
    }

    public func send(_ cancel: MigrationCancel, to hostID: String) async -> CommandResult {
        await request(.migrationCancel(cancel), to: hostID, timeout: commandTimeout)
    }

    public func send(_ command: PowerCommand, to hostID: String) async -> CommandResult {
        // The agent's own timeout plus a margin for the reply.
        await request(.powerCommand(command), to: hostID, timeout: .seconds(Int64(command.timeoutSeconds) + 5))
    }

    public func setState(_ state: HostRecord.State, of hostID: String) async {
        await registry.setState(state, of: hostID, at: .now)
    }

    public func restoreAsleep(_ description: AgentDescription, since: ContinuousClock.Instant) async -> Bool {
        await registry.restoreAsleep(description, since: since)
    }

    public func forget(_ hostID: String) async -> Bool {
        await registry.forget(hostID)
    }

    public func restoreFailed(
        _ description: AgentDescription,
        lastSeen: ContinuousClock.Instant,
        failedSince: ContinuousClock.Instant
    ) async -> Bool {
        await registry.restoreFailed(description, lastSeen: lastSeen, failedSince: failedSince)
    }

    public func estimate(of vmID: String, requested: ResourceVector) async -> VMEstimate? {
        await registry.estimate(of: vmID, requested: requested)
    }

    public func estimates(of requested: [String: ResourceVector]) async -> [String: VMEstimate] {
        await registry.estimates(of: requested)
    }

    /// The agent's answer; `.notDelivered` when the command may not have reached it (not connected, connection
    /// lost), `.timedOut` when it arrived but no answer came in time. Neither means the command took effect.
    private func request(_ message: WireMessage, to hostID: String, timeout: Duration) async -> CommandResult {
        guard let connection = await registry.connection(to: hostID) else {
            return CommandResult(code: .notDelivered, message: "\(hostID) is not connected")
        }
        do {
            let reply = try await connection.request(message, timeout: timeout)
            guard case .commandResult(let result) = reply else {
                return CommandResult(code: .internalError, message: "\(hostID) answered \(reply.type)")
            }
            return result
        } catch {
            logger.warning(
                "command to agent failed",
                metadata: [.host: "\(hostID)", .error: "\(error)"]
            )
            if case .timedOut = error {
                return CommandResult(code: .timedOut, message: "\(hostID): \(error)")
            }
            return CommandResult(code: .notDelivered, message: "\(hostID): \(error) (the command may not have arrived)")
        }
    }
}
