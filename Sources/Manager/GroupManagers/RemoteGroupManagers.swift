import Logging
import Placement
import Rings
import Transport
import Wire

/// On a group leader with `group_managers:` (docs/ha.md "Group managers"): the group manager processes linked to
/// it and the hosts they hold, as their reports and events describe them. It deals each host that asks to a group
/// manager (`HostAssignmentMachine`), carries the leader's orders down the holding group manager's link
/// (HostOrder), and is the leader's `GroupManagerEndpoint` and `HostStatusSource`, so the leader's code is the same
/// whether its hosts' agents are in this process or in others.
public actor RemoteGroupManagers {
    /// One group manager's link.
    struct Link {
        let connection: WireConnection
        /// Which link this is, so an old one ending late does not drop a newer one.
        let serial: UInt64
        var groupManager: HostAssignmentMachine.GroupManager
        /// When it linked: only a group manager linked for a while is given hosts by rebalancing.
        let linkedAt: ContinuousClock.Instant
    }

    /// One host as its group manager last described it.
    struct RemoteHost {
        var description: AgentDescription
        var groupManagerID: String?
        /// The leader's own view: events and its orders set it; reports do not (one sent before an order was
        /// carried out would undo it).
        var state: HostRecord.State = .active
        var stateSince: ContinuousClock.Instant
        var connected = true
        var inventory: Inventory?
        var hasInventory = false
        /// The host's row from the latest report, and when that report came.
        var status: ManagerStatusReply.Host?
        var statusAt: ContinuousClock.Instant?
        /// The newest samples of each VM (lower-case UUID), oldest first, from the latest report.
        var samples: [String: [ResourceVector]] = [:]
        /// When its group manager was lost; nil while one holds it.
        var orphanedAt: ContinuousClock.Instant?
        /// When the agent was last heard of, for a host restored asleep (no group manager has reported it yet).
        var lastSeen: ContinuousClock.Instant?
    }

    var machine: HostAssignmentMachine
    var links: [String: Link] = [:]
    var known: [String: RemoteHost] = [:]
    /// Orders on their way to each host (sent, not answered): a host with one is not moved.
    var ordersInFlight: [String: Int] = [:]
    /// Hosts being moved by rebalancing, with the group manager they leave, until they join another: one move at a
    /// time, and no order reaches them meanwhile.
    var released: [String: String] = [:]
    /// Hosts a group manager released, with that group manager, until the host joins it again or its link ends. A
    /// report from it still listing the host was built before the release, even one that arrives after the host
    /// joined another: the two group managers' links race.
    var releasedBy: [String: String] = [:]
    private var nextSerial: UInt64 = 0
    /// Where each host's group manager is recorded (and so copied to etcd); nil in tests that keep none.
    private var store: ManagerStore?
    /// What the store holds, so that a host reported again by the same group manager writes nothing.
    private var recorded: [String: String] = [:]
    public nonisolated let estimator: Estimator
    public nonisolated let commandTimeout: Duration
    nonisolated let logger: Logger

    public init(
        policy: HostAssignmentMachine.Policy,
        estimator: Estimator,
        commandTimeout: Duration = .seconds(120),
        logger: Logger
    ) {
        self.machine = HostAssignmentMachine(policy: policy)
        self.estimator = estimator
        self.commandTimeout = commandTimeout
        self.logger = logger
    }

    /// Starts from the group manager each host had last (`hostAssignment` in the state, restored from etcd by a
    /// new leader) and records every change there from now on.
    public func restore(from store: ManagerStore) async throws(ManagerStoreError) {
        recorded = try await store.hostAssignments()
        machine = HostAssignmentMachine(policy: machine.policy, previous: recorded)
        self.store = store
    }

    /// Records that `hostID` is with `groupManagerID`, unless the store has it already. A failed write (a leader
    /// deposed meanwhile) is logged: the group manager's reports tell the next leader the same.
    func record(_ hostID: String, with groupManagerID: String) async {
        guard let store, recorded[hostID] != groupManagerID else { return }
        recorded[hostID] = groupManagerID
        do {
            try await store.setHostAssignment(hostID, to: groupManagerID)
        } catch {
            recorded[hostID] = nil
            logger.warning(
                "host assignment not recorded",
                metadata: [.host: "\(hostID)", .groupManager: "\(groupManagerID)", .error: "\(error)"]
            )
        }
    }

    /// The group managers linked now, by id.
    public func groupManagers() -> [HostAssignmentMachine.GroupManager] { machine.groupManagers }

    /// Which group manager the host `hostID` joins; the reason when none can take it.
    public func assignment(of hostID: String) async -> Result<HostAssignment.Target, AssignmentRefusal> {
        for action in machine.handle(.hostAsked(hostID: hostID)) {
            switch action {
            case .assign(_, let groupManager):
                await record(hostID, with: groupManager.id)
                return .success(.groupManager(id: groupManager.id, address: groupManager.address))
            case .refuse(_, let reason):
                return .failure(AssignmentRefusal(reason: reason))
            case .reassign:
                continue
            }
        }
        return .failure(AssignmentRefusal(reason: "no decision"))
    }

    public struct AssignmentRefusal: Error, Sendable {
        public var reason: String
    }

    // MARK: Links

    /// A group manager linked with its first report: it takes hosts from now on, and keeps those it holds.
    func attach(_ id: String, connection: WireConnection, report: GroupManagerReport) async -> UInt64 {
        nextSerial += 1
        let groupManager = HostAssignmentMachine.GroupManager(
            id: id,
            address: report.agentAddress,
            maxHosts: Int(report.maxHosts)
        )
        if let old = links[id] {
            // Its old link has not ended yet (a restart faster than the close): the new one counts.
            logger.notice("group manager linked again", metadata: [.groupManager: "\(id)"])
            Task { await old.connection.close() }
        }
        links[id] = Link(connection: connection, serial: nextSerial, groupManager: groupManager, linkedAt: .now)
        _ = machine.handle(.groupManagerJoined(groupManager))
        logger.notice(
            "group manager linked",
            metadata: [
                .groupManager: "\(id)", .address: "\(report.agentAddress)", .hosts: "\(report.hosts.count)",
                .limit: "\(report.maxHosts)",
            ]
        )
        let serial = nextSerial
        await apply(report, from: id, at: .now)
        return serial
    }

    /// The link `serial` of `id` ended: its hosts are orphans until they join another (or fail).
    func detach(_ id: String, serial: UInt64, at now: ContinuousClock.Instant) {
        guard links[id]?.serial == serial else { return }
        links[id] = nil
        var orphans: [String] = []
        for action in machine.handle(.groupManagerLost(id: id)) {
            if case .reassign(let hostIDs, _) = action { orphans = hostIDs }
        }
        releasedBy = releasedBy.filter { $0.value != id }  // its next link's reports are built afresh
        for hostID in known.keys where known[hostID]?.groupManagerID == id {
            known[hostID]?.groupManagerID = nil
            known[hostID]?.connected = false
            known[hostID]?.orphanedAt = now
        }
        logger.error(
            "group manager lost: its hosts must join another",
            metadata: [.groupManager: "\(id)", .hosts: "\(orphans.joined(separator: ","))"]
        )
    }

    /// A report: each host's row and samples. Hosts it lists stay with it.
    func apply(_ report: GroupManagerReport, from id: String, at now: ContinuousClock.Instant) async {
        if var link = links[id],
            link.groupManager.address != report.agentAddress
                || link.groupManager.maxHosts != Int(report.maxHosts)
        {
            link.groupManager.address = report.agentAddress
            link.groupManager.maxHosts = Int(report.maxHosts)
            links[id] = link
            _ = machine.handle(.groupManagerJoined(link.groupManager))
        }
        var moved: [String] = []
        for entry in report.hosts {
            let hostID = entry.status.hostID
            guard var host = known[hostID] else { continue }  // its Joined event comes first
            if releasedBy[hostID] == id { continue }  // released: this report was built before the release
            if host.groupManagerID != id {
                guard entry.status.connected else { continue }  // another holds it now; this one is late
                host.groupManagerID = id
                host.orphanedAt = nil
                _ = machine.handle(.hostReported(hostID: hostID, groupManagerID: id))
                moved.append(hostID)
            }
            host.status = entry.status
            host.statusAt = now
            host.connected = entry.status.connected
            host.hasInventory = entry.hasInventory
            host.samples = Self.samples(of: entry, holding: host.samples, window: Int(report.sampleWindow))
            // A host the group manager saw come back (heartbeats again) while the leader holds it FAILED.
            if host.state == .failed, entry.status.state == .active, entry.status.connected {
                host.state = .active
                host.stateSince = now
            }
            known[hostID] = host
        }
        for hostID in moved { await record(hostID, with: id) }
    }

    /// A reported host's samples by VM: its VMs' windows, or, when the report carries only the samples new since
    /// the last one, those appended to what the leader holds, keeping the newest `window`. VMs it does not list are
    /// gone from the host.
    static func samples(
        of entry: GroupManagerReport.Host,
        holding held: [String: [ResourceVector]],
        window: Int
    ) -> [String: [ResourceVector]] {
        var samples: [String: [ResourceVector]] = [:]
        samples.reserveCapacity(entry.vms.count)
        for vm in entry.vms {
            let id = "\(vm.uuid)".lowercased()
            guard samples[id] == nil else { continue }  // listed twice: the first counts
            let fresh = vm.samples.map(ResourceVector.init(amounts:))
            guard entry.samplesAreNew else {
                samples[id] = fresh
                continue
            }
            let kept = held[id] ?? []
            samples[id] = Array((kept + fresh).suffix(max(window, fresh.count)))
        }
        return samples
    }

    /// An event: the leader's view changes, then the caller tells the leader (`GroupManagerObserver`).
    func apply(_ event: GroupManagerEvent, from id: String, at now: ContinuousClock.Instant) async -> HostRecord? {
        let hostID = event.hostID
        switch event.event {
        case .joined(let description):
            released[hostID] = nil
            if releasedBy[hostID] == id { releasedBy[hostID] = nil }  // back with the one that released it
            var host = known[hostID] ?? RemoteHost(description: description, stateSince: now)
            host.description = description
            host.groupManagerID = id
            host.orphanedAt = nil
            host.connected = true
            host.hasInventory = false
            host.samples = [:]
            // The agent says it again after its hello if its libvirtd still does not answer.
            host.status?.hypervisorProblem = nil
            host.state = .active
            host.stateSince = now
            known[hostID] = host
            _ = machine.handle(.hostReported(hostID: hostID, groupManagerID: id))
            await record(hostID, with: id)
        case .inventory(let inventory):
            known[hostID]?.inventory = inventory
            known[hostID]?.hasInventory = true
        case .failed(let description, let lastInventory):
            var host = known[hostID] ?? RemoteHost(description: description, stateSince: now)
            host.state = .failed
            host.stateSince = now
            host.connected = false
            if let lastInventory { host.inventory = lastInventory }
            known[hostID] = host
            return record(of: host, at: now)
        case .goingDown:
            guard known[hostID]?.state != .sleeping else { break }
            known[hostID]?.state = .sleeping
            known[hostID]?.stateSince = now
        case .resumed:
            guard known[hostID]?.state == .sleeping else { break }
            known[hostID]?.state = .active
            known[hostID]?.stateSince = now
        case .migrationProgress:
            break
        }
        return nil
    }

    /// Hosts whose group manager was lost and that joined no other within `timeout`: FAILED, as the registry
    /// fails a silent host (a host put to sleep stays asleep).
    public func expire(timeout: Duration, at now: ContinuousClock.Instant) -> [HostRecord] {
        var failed: [HostRecord] = []
        for (id, host) in known where host.state == .active {
            guard let orphanedAt = host.orphanedAt, now - orphanedAt > timeout else { continue }
            known[id]?.state = .failed
            known[id]?.stateSince = now
            released[id] = nil
            failed.append(record(of: known[id]!, at: now))
            logger.error(
                "host failed: its group manager was lost and it joined no other",
                metadata: [.host: "\(id)", .silentFor: "\(now - orphanedAt)"]
            )
        }
        return failed
    }

    private func record(of host: RemoteHost, at now: ContinuousClock.Instant) -> HostRecord {
        var record = HostRecord(
            description: host.description,
            state: host.state,
            joinedAt: now,
            lastHeartbeat: host.orphanedAt ?? host.lastSeen ?? now,
            lastReport: host.statusAt,
            inventory: host.inventory,
            reports: RingBuffer(capacity: 1)
        )
        record.stateSince = host.stateSince
        record.connected = host.connected
        return record
    }

    /// The connection of the group manager holding `hostID`.
    private func link(of hostID: String) -> WireConnection? {
        guard let id = known[hostID]?.groupManagerID else { return nil }
        return links[id]?.connection
    }

    fileprivate func setLocalState(_ state: HostRecord.State, of hostID: String) -> WireConnection? {
        guard known[hostID] != nil else { return nil }
        known[hostID]?.state = state
        known[hostID]?.stateSince = .now
        return link(of: hostID)
    }

    fileprivate func holder(of hostID: String) -> (connection: WireConnection, groupManagerID: String)? {
        guard let id = known[hostID]?.groupManagerID, let connection = links[id]?.connection else { return nil }
        return (connection, id)
    }

    // MARK: Reading

    public func hosts() -> [ManagedHost] {
        known.values.sorted { $0.description.hostID < $1.description.hostID }.map { host in
            ManagedHost(
                hostID: host.description.hostID,
                capacity: host.description.capacity,
                state: host.state,
                connected: host.connected,
                hasInventory: host.hasInventory,
                capabilities: host.description.capabilities,
                hypervisorProblem: host.status?.hypervisorProblem
            )
        }
    }

    public func inventory(of hostID: String) -> Inventory? {
        guard let host = known[hostID], host.hasInventory else { return nil }
        return host.inventory
    }

    /// Every VM of every host's latest inventory with its newest samples, as `HostRegistry.demands()`.
    public func demands() -> [VMDemand] {
        known.values.sorted { $0.description.hostID < $1.description.hostID }.flatMap { host -> [VMDemand] in
            guard let inventory = host.inventory else { return [] }
            return inventory.vms.map { entry in
                let id = "\(entry.uuid)".lowercased()
                return VMDemand(
                    vmID: id,
                    name: entry.name,
                    hostID: host.description.hostID,
                    state: entry.state,
                    configured: ResourceVector(
                        cpuCores: Double(entry.virtualCPUs),
                        memoryBytes: Double(entry.memoryKiB) * 1024
                    ),
                    samples: Array((host.samples[id] ?? []).suffix(estimator.window))
                )
            }
        }
    }

    public func estimate(of vmID: String, requested: ResourceVector) async -> VMEstimate? {
        await estimates(of: [vmID: requested])[vmID]
    }

    /// As `HostRegistry.estimates(of:)` (`VMEstimateSelection`), from the samples the group managers reported.
    public func estimates(of requested: [String: ResourceVector]) async -> [String: VMEstimate] {
        var selection = VMEstimateSelection(requested: requested)
        for host in known.values {
            for entry in host.inventory?.vms ?? [] {
                let id = "\(entry.uuid)".lowercased()
                selection.offer(
                    id,
                    active: entry.state.isActive,
                    hostID: host.description.hostID,
                    samples: Array((host.samples[id] ?? []).suffix(estimator.window))
                )
            }
        }
        return selection.estimates(by: estimator)
    }

    public func statusHosts(at now: ContinuousClock.Instant) -> [ManagerStatusReply.Host] {
        known.values.sorted { $0.description.hostID < $1.description.hostID }.map { host in
            let age = host.statusAt.map { HostRegistry.milliseconds(now - $0) } ?? 0
            var row =
                host.status
                ?? ManagerStatusReply.Host(
                    hostID: host.description.hostID,
                    hostname: host.description.hostname,
                    state: host.state.wire,
                    connected: host.connected,
                    millisecondsSinceHeartbeat: host.lastSeen.map { HostRegistry.milliseconds(now - $0) } ?? 0,
                    millisecondsSinceReport: nil,
                    ringFill: 0,
                    ringCapacity: 0,
                    vmCount: UInt16(clamping: host.inventory?.vms.count ?? 0),
                    capacity: host.description.capacity,
                    usage: nil
                )
            // The report's ages were measured when it was sent; the state is the leader's own.
            row.millisecondsSinceHeartbeat += age
            row.millisecondsSinceReport = row.millisecondsSinceReport.map { $0 + age }
            row.state = host.state.wire
            row.connected = host.connected
            row.millisecondsInState = HostRegistry.milliseconds(now - host.stateSince)
            row.groupManagerID = host.groupManagerID ?? ""
            return row
        }
    }

    public func connectedHostIDs() -> [String] {
        known.values.filter(\.connected).map(\.description.hostID).sorted()
    }
}

extension RemoteGroupManagers: GroupManagerEndpoint, HostStatusSource {
    public func send(_ command: VMCommand, to hostID: String) async -> CommandResult {
        await order(.vmCommand(command), to: hostID, timeout: command.replyTimeout(default: commandTimeout))
    }

    public func send(_ command: PowerCommand, to hostID: String) async -> CommandResult {
        await order(.powerCommand(command), to: hostID, timeout: .seconds(Int64(command.timeoutSeconds) + 5))
    }

    public func send(_ cancel: MigrationCancel, to hostID: String) async -> CommandResult {
        await order(.migrationCancel(cancel), to: hostID, timeout: commandTimeout)
    }

    /// Known to the leader alone, held by no group manager until its agent, woken, joins one.
    public func restoreAsleep(_ description: AgentDescription, since: ContinuousClock.Instant) async -> Bool {
        restore(description, .sleeping, lastSeen: since, stateSince: since)
    }

    public func restoreFailed(
        _ description: AgentDescription,
        lastSeen: ContinuousClock.Instant,
        failedSince: ContinuousClock.Instant
    ) async -> Bool {
        restore(description, .failed, lastSeen: lastSeen, stateSince: failedSince)
    }

    /// A host known again after a restart, held by no group manager and not connected; false when known.
    private func restore(
        _ description: AgentDescription,
        _ state: HostRecord.State,
        lastSeen: ContinuousClock.Instant,
        stateSince: ContinuousClock.Instant
    ) -> Bool {
        guard known[description.hostID] == nil else { return false }
        var host = RemoteHost(description: description, stateSince: stateSince)
        host.state = state
        host.connected = false
        host.lastSeen = lastSeen
        known[description.hostID] = host
        return true
    }

    /// Forgets a retired host here and in the assignments; the group manager that held it (FAILED, its agent gone)
    /// is told to release it, so its reports stop naming it. The order goes in the background: the leader calls
    /// this under its decisions lock, which must not wait for a group manager's answer.
    public func forget(_ hostID: String) async -> Bool {
        guard let host = known[hostID] else { return true }
        guard !host.connected else { return false }
        let holder = holder(of: hostID)
        known[hostID] = nil
        _ = machine.handle(.hostLeft(hostID: hostID))
        recorded[hostID] = nil
        released[hostID] = nil
        releasedBy[hostID] = nil
        if let (connection, groupManagerID) = holder {
            let logger = self.logger
            let timeout = commandTimeout
            Task {
                let outcome: String
                do {
                    let reply = try await connection.request(
                        .hostOrder(HostOrder(hostID: hostID, order: .release)),
                        timeout: timeout
                    )
                    guard case .commandResult(let result) = reply, !result.isOK else { return }
                    outcome = "\(result.code): \(result.message)"
                } catch {
                    outcome = "\(error)"
                }
                logger.warning(
                    "a removed host's group manager did not release it; it forgets it at its retention",
                    metadata: [.host: "\(hostID)", .groupManager: "\(groupManagerID)", .error: "\(outcome)"]
                )
            }
        }
        return true
    }

    /// Set here at once (the leader's next read sees it), then in the group manager's registry.
    public func setState(_ state: HostRecord.State, of hostID: String) async {
        guard let connection = setLocalState(state, of: hostID) else { return }
        let order = HostOrder(hostID: hostID, order: .setState(state.wire))
        do {
            _ = try await connection.request(.hostOrder(order), timeout: commandTimeout)
        } catch {
            logger.warning(
                "group manager did not take a host's state",
                metadata: [.host: "\(hostID)", .state: "\(state.rawValue)", .error: "\(error)"]
            )
        }
    }

    /// The group manager's answer, which is its agent's (`GroupManager.send`); `.notDelivered` when no group
    /// manager holds the host or its link was lost, `.timedOut` when no answer came within `timeout` plus a margin
    /// for the extra hop. Neither means the order took effect.
    func order(_ order: HostOrder.Order, to hostID: String, timeout: Duration) async -> CommandResult {
        guard let (connection, groupManagerID) = holder(of: hostID) else {
            return CommandResult(code: .notDelivered, message: "\(hostID) is with no group manager now")
        }
        if let leaving = released[hostID], order != .release {
            return CommandResult(
                code: .notDelivered,
                message: "\(hostID) is moving from group manager \(leaving) to another; ask again in a moment"
            )
        }
        ordersInFlight[hostID, default: 0] += 1
        defer {
            ordersInFlight[hostID, default: 1] -= 1
            if ordersInFlight[hostID] == 0 { ordersInFlight[hostID] = nil }
        }
        do {
            let reply = try await connection.request(
                .hostOrder(HostOrder(hostID: hostID, order: order)),
                timeout: timeout + .seconds(5)
            )
            guard case .commandResult(let result) = reply else {
                return CommandResult(
                    code: .internalError,
                    message: "group manager \(groupManagerID) answered a HostOrder with \(reply.type)"
                )
            }
            return result
        } catch .timedOut {
            return CommandResult(
                code: .timedOut,
                message: "no answer from \(hostID) through group manager \(groupManagerID) within \(timeout)"
            )
        } catch .peerError(let code, let message) {
            return CommandResult(code: .internalError, message: "group manager \(groupManagerID): \(code): \(message)")
        } catch {
            return CommandResult(
                code: .notDelivered,
                message: "\(hostID) through group manager \(groupManagerID): \(error)"
            )
        }
    }
}

extension ResourceVector {
    /// A reported sample in placement's units (the same units on the wire).
    init(amounts: ResourceAmounts) {
        self.init(
            cpuCores: amounts.cpuCores,
            memoryBytes: amounts.memoryBytes,
            networkRxBytesPerSecond: amounts.networkRxBytesPerSecond,
            networkTxBytesPerSecond: amounts.networkTxBytesPerSecond
        )
    }
}
