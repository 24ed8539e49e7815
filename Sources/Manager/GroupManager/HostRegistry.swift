import Logging
import Placement
import Rings
import Transport
import Wire

/// The group manager's hosts: joins, heartbeats, reports, inventories, and failure by heartbeat timeout.
/// A returning host rejoins under the same identity and becomes ACTIVE again.
///
/// One connection per host id: until mutual TLS binds a host id to a certificate, a Hello naming a host whose
/// connection is alive is refused (`admit`), so no peer takes a connected host's place. A host FAILED and
/// disconnected for longer than `retention` is forgotten.
public actor HostRegistry {
    private var hosts: [String: HostRecord] = [:]
    private let ringCapacity: Int
    private let identityHold: Duration
    private let retention: Duration
    private let logger: Logger
    /// Turns each VM's newest samples into its estimated demand (`estimator:` in manager.yaml).
    public let estimator: Estimator
    private var nextConnectionID: UInt64 = 0
    /// The open connection of each connected agent, for commands.
    private var connections: [String: WireConnection] = [:]

    /// How long a host FAILED and disconnected is remembered by default: a day.
    public static let defaultRetention: Duration = .seconds(24 * 3600)
    /// How long after its last heartbeat a connection keeps its host id against a newcomer by default.
    public static let defaultIdentityHold: Duration = .seconds(6)

    /// - Parameters:
    ///   - identityHold: a connection that heartbeated (or reported) within this time holds its host id: another
    ///     Hello for it is refused. Past it, the connection is taken for half-dead and closed in favour of the
    ///     newcomer, so an agent reconnecting after a network blip is not locked out for long. Two heartbeat
    ///     intervals is a good value.
    ///   - retention: how long a host stays known once it is FAILED and disconnected.
    public init(
        ringCapacity: Int,
        identityHold: Duration = HostRegistry.defaultIdentityHold,
        retention: Duration = HostRegistry.defaultRetention,
        estimator: Estimator = Estimator(),
        logger: Logger
    ) {
        self.estimator = estimator
        self.ringCapacity = ringCapacity
        self.identityHold = identityHold
        self.retention = retention
        self.logger = logger
    }

    /// Decides whether an agent's Hello may take its host id: refused while another connection holding the id has
    /// heartbeated within `identityHold`, unless the host is SLEEPING or WAKING; a silent (half-dead) or departing
    /// holder is closed, deliberately and logged.
    public func admit(
        _ description: AgentDescription,
        at now: ContinuousClock.Instant
    ) async throws(HandshakeRejection) {
        let hostID = description.hostID
        guard let host = hosts[hostID], host.connected, let holder = connections[hostID], holder.isOpen else { return }
        let silence = now - host.lastHeartbeat
        let address = holder.remoteAddress.map { "\($0)" } ?? "an unknown address"
        // A host that announced going down (or is being woken) comes back on a new connection while the old one
        // may still look open: its agent said it was leaving.
        let leaving = host.state == .sleeping || host.state == .waking
        guard silence >= identityHold || leaving else {
            logger.warning(
                "refused an agent: its host id is held by a live connection",
                metadata: [
                    .host: "\(hostID)", .holder: "\(address)",
                    .hostname: "\(description.hostname)", .silentFor: "\(silence)",
                ]
            )
            throw HandshakeRejection(
                code: .conflict,
                message: "host id '\(hostID)' is already connected from \(address) (heard from \(silence) ago); "
                    + "a second connection for it is refused"
            )
        }
        // Marked disconnected first: the holder's session ending later finds the id taken and leaves it alone.
        hosts[hostID]?.connected = false
        hosts[hostID]?.connectionID = 0
        connections[hostID] = nil
        logger.warning(
            "closing a silent connection: its host reconnected",
            metadata: [
                .host: "\(hostID)", .holder: "\(address)", .silentFor: "\(silence)",
                .state: "\(host.state.rawValue)",
            ]
        )
        await holder.close()
    }

    /// Records a (re)join over `connection` unless, since `admit`, another connection took the host id (two Hellos
    /// racing): then refuses, naming the holder. Returns the id to pass to `disconnected`.
    func join(
        _ description: AgentDescription,
        over connection: WireConnection,
        at now: ContinuousClock.Instant
    ) throws(HandshakeRejection) -> UInt64 {
        let hostID = description.hostID
        if let host = hosts[hostID], host.connected, let holder = connections[hostID], holder.isOpen {
            let address = holder.remoteAddress.map { "\($0)" } ?? "an unknown address"
            throw HandshakeRejection(
                code: .conflict,
                message: "host id '\(hostID)' is already connected from \(address); a second connection is refused"
            )
        }
        let connectionID = join(description, at: now)
        connections[hostID] = connection
        return connectionID
    }

    /// Records a (re)join on a new connection; returns the id to pass to `disconnected` when it ends.
    @discardableResult
    public func join(_ description: AgentDescription, at now: ContinuousClock.Instant) -> UInt64 {
        let previous = hosts[description.hostID]
        nextConnectionID += 1
        var record = HostRecord(
            description: description,
            state: .active,
            joinedAt: now,
            lastHeartbeat: now,
            lastReport: nil,
            inventory: previous?.inventory,
            reports: RingBuffer(capacity: ringCapacity)
        )
        record.connected = true
        record.stateSince = now
        record.connectionID = nextConnectionID
        hosts[description.hostID] = record
        logger.info(
            previous == nil ? "hello from agent: host joined" : "hello from agent: host rejoined",
            metadata: [
                .host: "\(description.hostID)",
                .hostname: "\(description.hostname)",
                .cores: "\(description.capacity.cores)",
                .memoryBytes: "\(description.capacity.memoryBytes)",
                .previousState: "\(previous?.state.rawValue ?? "new")",
            ]
        )
        return nextConnectionID
    }

    /// The agent's connection `connectionID` ended; ignored when the host has since rejoined on another one.
    public func disconnected(_ hostID: String, connectionID: UInt64) {
        guard hosts[hostID]?.connectionID == connectionID else { return }
        hosts[hostID]?.connected = false
        connections[hostID] = nil
    }

    func connection(to hostID: String) -> WireConnection? { connections[hostID] }

    /// The leader moves the host to another group manager: forgotten here without being marked FAILED (no failure
    /// reaches the leader), and its agent's connection handed back to be closed, after which the agent asks the
    /// leader again. The session's end then finds no record to mark.
    func release(_ hostID: String) -> WireConnection? {
        hosts[hostID] = nil
        return connections.removeValue(forKey: hostID)
    }

    /// Forgets a retired host (`torpor host remove`); false, changing nothing, when its agent is connected now.
    public func forget(_ hostID: String) -> Bool {
        guard hosts[hostID]?.connected != true else { return false }
        _ = release(hostID)
        return true
    }

    public func heartbeat(from hostID: String, at now: ContinuousClock.Instant) {
        // In place: copying the record out and back retains its ring and inventory on every heartbeat.
        guard let index = hosts.index(forKey: hostID) else { return }
        hosts.values[index].lastHeartbeat = now
        hosts.values[index].heartbeats += 1
        if hosts.values[index].state == .failed {
            hosts.values[index].state = .active
            logger.notice("host back after failure", metadata: [.host: "\(hostID)"])
        }
    }

    /// Sets a host's state for the energy saver (SLEEPING before it goes down, WAKING, or FAILED when no wake
    /// driver brought it back). A sleeping host is never marked FAILED by the heartbeat timeout.
    public func setState(_ state: HostRecord.State, of hostID: String, at now: ContinuousClock.Instant) {
        guard hosts[hostID] != nil else { return }
        hosts[hostID]?.state = state
        hosts[hostID]?.stateSince = now
    }

    /// A host asleep before the manager started: SLEEPING since `since` (when it was last heard from, going down)
    /// and not connected, as its agent last described it, until it joins. False when the host is already known.
    public func restoreAsleep(_ description: AgentDescription, since: ContinuousClock.Instant) -> Bool {
        restore(description, .sleeping, lastSeen: since, stateSince: since)
    }

    /// A host whose agent has not come back since the manager started: FAILED since `failedSince` and not
    /// connected, last heard from at `lastSeen`, as its agent last described it, until it joins (and forgotten
    /// past the retention like any FAILED host). False when the host is already known.
    public func restoreFailed(
        _ description: AgentDescription,
        lastSeen: ContinuousClock.Instant,
        failedSince: ContinuousClock.Instant
    ) -> Bool {
        restore(description, .failed, lastSeen: lastSeen, stateSince: failedSince)
    }

    /// A host known again after a restart, not connected, as its agent last described it; false when known.
    private func restore(
        _ description: AgentDescription,
        _ state: HostRecord.State,
        lastSeen: ContinuousClock.Instant,
        stateSince: ContinuousClock.Instant
    ) -> Bool {
        guard hosts[description.hostID] == nil else { return false }
        var record = HostRecord(
            description: description,
            state: state,
            joinedAt: lastSeen,
            lastHeartbeat: lastSeen,
            lastReport: nil,
            inventory: nil,
            reports: RingBuffer(capacity: ringCapacity)
        )
        record.stateSince = stateSince
        hosts[description.hostID] = record
        return true
    }

    /// The agent announced that its host goes down: SLEEPING at once, so the expiry never turns its silence into
    /// FAILED. A rejoin makes it ACTIVE again.
    public func goingDown(_ hostID: String, at now: ContinuousClock.Instant) {
        guard let host = hosts[hostID], host.state != .sleeping else { return }
        hosts[hostID]?.state = .sleeping
        hosts[hostID]?.stateSince = now
    }

    /// The agent announced that its host is up after all (a power action failed): a host it had marked SLEEPING
    /// is ACTIVE again. Any other state is left alone (a wake in progress ends with the rejoin).
    public func resumed(_ hostID: String, at now: ContinuousClock.Instant) {
        guard hosts[hostID]?.state == .sleeping else { return }
        hosts[hostID]?.state = .active
        hosts[hostID]?.stateSince = now
        hosts[hostID]?.lastHeartbeat = now
    }

    /// The agent's word on its libvirtd; returns whether that changed what the registry held.
    @discardableResult
    public func record(_ status: HypervisorStatus, from hostID: String) -> Bool {
        guard let host = hosts[hostID] else { return false }
        let problem = status.state == .unreachable ? status.problem : nil
        guard host.hypervisorProblem != problem else { return false }
        hosts[hostID]?.hypervisorProblem = problem
        return true
    }

    public func record(_ inventory: Inventory, from hostID: String) {
        hosts[hostID]?.inventory = inventory
        hosts[hostID]?.inventorySinceJoin = true
        hosts[hostID]?.inventoryRevision &+= 1
    }

    public func record(_ report: MonitoringReport, from hostID: String, at now: ContinuousClock.Instant) {
        hosts[hostID]?.append(report, at: now)
    }

    /// A report that proves its agent alive as a heartbeat does, recorded in the same call: one hop to this actor
    /// per report, where ten thousand agents report every second.
    public func heartbeat(
        from hostID: String,
        recording report: MonitoringReport,
        at now: ContinuousClock.Instant
    ) {
        heartbeat(from: hostID, at: now)
        record(report, from: hostID, at: now)
    }

    /// Reports and heartbeats taken on the agents' connections (`ReportIntake`), in arrival order: each proves its
    /// agent alive as a heartbeat does. One from a connection the host no longer uses is dropped; one that arrived
    /// before its connection closed is kept, without making a FAILED host ACTIVE.
    func record(_ arrivals: [ReportIntake.Arrival]) {
        for arrival in arrivals {
            guard let index = hosts.index(forKey: arrival.hostID) else { continue }
            // One mutating call: reading fields through `hosts.values[index]` copies the whole record each time.
            if hosts.values[index].absorb(arrival) {
                logger.notice("host back after failure", metadata: [.host: "\(arrival.hostID)"])
            }
        }
    }

    /// Marks hosts silent for longer than `timeout` as FAILED; returns them with the VMs they were running. Forgets
    /// hosts FAILED and disconnected for longer than `retention` (a SLEEPING host, put to sleep by our order, stays).
    public func expire(timeout: Duration, at now: ContinuousClock.Instant) -> [HostRecord] {
        forgetLongFailed(at: now)
        var failed: [HostRecord] = []
        for (id, host) in hosts where host.state == .active && now - host.lastHeartbeat > timeout {
            hosts[id]?.state = .failed
            hosts[id]?.stateSince = now
            failed.append(hosts[id]!)
            logger.error(
                "host failed: no heartbeat",
                metadata: [
                    .host: "\(id)",
                    .silentFor: "\(now - host.lastHeartbeat)",
                    .vms: "\(host.inventory?.vms.map(\.name).joined(separator: ",") ?? "")",
                ]
            )
        }
        return failed
    }

    private func forgetLongFailed(at now: ContinuousClock.Instant) {
        for (id, host) in hosts where !host.connected && host.state == .failed {
            let since = host.stateSince ?? host.lastHeartbeat
            guard now - since > retention else { continue }
            hosts[id] = nil
            connections[id] = nil
            logger.notice(
                "forgot a host: FAILED and disconnected past the retention",
                metadata: [
                    .host: "\(id)", .failedFor: "\(now - since)", .retention: "\(retention)",
                ]
            )
        }
    }

    public func host(_ id: String) -> HostRecord? { hosts[id] }

    public func all() -> [HostRecord] { hosts.values.sorted { $0.hostID < $1.hostID } }

    /// Every VM of every host's latest inventory with its newest `estimator.window` samples, by host id. A host
    /// FAILED or not connected keeps its last numbers: the caller decides whether they count.
    public func demands() -> [VMDemand] {
        all().flatMap { $0.demands(window: estimator.window) }
    }

    /// The estimate of the VM `vmID` (lower-case UUID) from a host whose inventory lists it active (else from any
    /// that lists it), taking `requested` when there are no samples; nil if no host lists it.
    public func estimate(of vmID: String, requested: ResourceVector) -> VMEstimate? {
        estimates(of: [vmID: requested])[vmID]
    }

    /// The estimates of many VMs (lower-case UUID → requested) in one pass over the hosts, by the rule of
    /// `VMEstimateSelection`; VMs no host lists are absent.
    public func estimates(of requested: [String: ResourceVector]) -> [String: VMEstimate] {
        var selection = VMEstimateSelection(requested: requested)
        for host in hosts.values {
            guard let inventory = host.inventory,
                inventory.vms.contains(where: { selection.wants("\($0.uuid)".lowercased(), active: $0.state.isActive) })
            else { continue }
            // Read from the ring once per host that has a VM asked for.
            for demand in host.demands(window: estimator.window) {
                selection.offer(
                    demand.vmID,
                    active: demand.state.isActive,
                    hostID: demand.hostID,
                    samples: demand.samples
                )
            }
        }
        return selection.estimates(by: estimator)
    }

    /// Every host as `agentctl manager` shows it, by host id, with ages measured at `now`.
    public func statusHosts(at now: ContinuousClock.Instant) -> [ManagerStatusReply.Host] {
        all().map { host in
            statusHost(host, at: now, estimate: host.inventory == nil ? nil : host.demand(estimator: estimator))
        }
    }

    /// One host as `agentctl manager` shows it, with its VMs' estimate already summed.
    func statusHost(
        _ host: HostRecord,
        at now: ContinuousClock.Instant,
        estimate: HostDemand?
    )
        -> ManagerStatusReply.Host
    {
        var row = ManagerStatusReply.Host(
            hostID: host.hostID,
            hostname: host.description.hostname,
            state: host.state.wire,
            connected: host.connected,
            millisecondsSinceHeartbeat: Self.milliseconds(now - host.lastHeartbeat),
            millisecondsSinceReport: host.lastReport.map { Self.milliseconds(now - $0) },
            ringFill: UInt16(clamping: host.reports.count),
            ringCapacity: UInt16(clamping: host.reports.capacity),
            vmCount: UInt16(clamping: host.inventory?.vms.count ?? 0),
            capacity: host.description.capacity,
            usage: host.reports.last?.host,
            millisecondsInState: host.stateSince.map { Self.milliseconds(now - $0) },
            estimate: estimate?.wire
        )
        row.hypervisorProblem = host.hypervisorProblem
        return row
    }

    /// Whole milliseconds, 0 for a negative duration (an event stamped after `now` by a racing task).
    static func milliseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0, attoseconds >= 0 else { return 0 }
        return UInt64(seconds) * 1000 + UInt64(attoseconds / 1_000_000_000_000_000)
    }
}

extension HostDemand {
    var wire: ManagerStatusReply.HostEstimate {
        ManagerStatusReply.HostEstimate(
            estimatedUse: ResourceAmounts(estimatedUse),
            requested: ResourceAmounts(requested),
            measuredVMs: UInt16(clamping: measuredVMs)
        )
    }
}

extension ResourceAmounts {
    init(_ vector: ResourceVector) {
        self.init(
            cpuCores: vector.cpuCores,
            memoryBytes: vector.memoryBytes,
            networkRxBytesPerSecond: vector.networkRxBytesPerSecond,
            networkTxBytesPerSecond: vector.networkTxBytesPerSecond
        )
    }
}

extension HostRecord.State {
    var wire: ManagerStatusReply.HostState {
        switch self {
        case .active: .active
        case .sleeping: .sleeping
        case .waking: .waking
        case .failed: .failed
        }
    }
}

extension HostRecord {
    /// Puts `report` into the ring, received at `now`.
    fileprivate mutating func append(_ report: MonitoringReport, at now: ContinuousClock.Instant) {
        reports.append(report)
        reportsRecorded &+= 1
        lastReport = now
    }

    /// Takes an arrival from the intake as `HostRegistry.record(_:)` says; true when it made a FAILED host ACTIVE.
    fileprivate mutating func absorb(_ arrival: ReportIntake.Arrival) -> Bool {
        guard connectionID == arrival.connectionID else { return false }
        if lastHeartbeat < arrival.at { lastHeartbeat = arrival.at }
        heartbeats += 1
        if let report = arrival.report { append(report, at: arrival.at) }
        guard state == .failed, connected else { return false }
        state = .active
        return true
    }
}
