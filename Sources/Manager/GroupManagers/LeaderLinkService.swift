import Logging
import ServiceLifecycle
import Synchronization
import Transport
import Wire

/// In a group manager process: the link to whichever manager leads, found through `group_manager.leaders`. Each
/// link starts with a report (the leader takes this group manager from then on), every connected host's hello and
/// inventory (a new leader learns the hosts it holds), and a second report with their rows; then a report every
/// `report_interval`, the agents' events as they happen (`LeaderRelay`) and the leader's orders carried to the
/// agents (HostOrder, answered with the agent's CommandResult). A lost leader is looked for again; the agents stay.
struct LeaderLinkService: Service {
    let following: LeaderFollowingClient
    let relay: LeaderRelay
    let registry: HostRegistry
    let groupManager: GroupManager
    let agentAddress: String
    let maxHosts: Int
    let heartbeatInterval: Duration
    /// A leader silent this long (no heartbeat, no order) is given up: the link is closed and the leader looked for
    /// again. A stopped or partitioned leader resets no connection, and another may lead by now.
    let heartbeatTimeout: Duration
    let reportInterval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await following.run { connection in
                try await serve(connection)
            }
        }
    }

    func report(
        after sent: [String: GroupManagerReportCursor] = [:]
    ) async
        -> (report: GroupManagerReport, sent: [String: GroupManagerReportCursor])
    {
        await registry.groupManagerReport(agentAddress: agentAddress, maxHosts: maxHosts, at: .now, after: sent)
    }

    /// Sends the report in as many frames as its hosts need (`GroupManagerReport.parts`): one frame holds about
    /// 150 hosts of 20 VMs, and a report that did not fit was never sent, losing the leader each time. Hosts in
    /// `sent` go with only their new samples (a 10,000-host group manager sent 100 MB every 3 s with whole
    /// windows); returns what the next report may count as sent.
    @discardableResult
    func sendReport(
        on connection: WireConnection,
        after sent: [String: GroupManagerReportCursor] = [:]
    ) async throws -> [String: GroupManagerReportCursor] {
        let (report, cursors) = await report(after: sent)
        for part in report.parts() { try await connection.send(.groupManagerReport(part)) }
        return cursors
    }

    func serve(_ connection: WireConnection) async throws {
        // The leader takes events only after a first report; those from here on are relayed, and the replay below
        // covers what happened before.
        try await sendReport(on: connection)
        await relay.attach(connection)
        defer { Task { await relay.detach(connection) } }
        for host in await registry.all() where host.connected {
            try await connection.send(
                .groupManagerEvent(GroupManagerEvent(hostID: host.hostID, event: .joined(host.description)))
            )
            if host.inventorySinceJoin, let inventory = host.inventory {
                try await connection.send(
                    .groupManagerEvent(GroupManagerEvent(hostID: host.hostID, event: .inventory(inventory)))
                )
            }
        }
        // The replay's Joined events reset the leader's samples of each host: this report sends whole windows.
        let sent = try await sendReport(on: connection)
        let hostCount = await registry.all().count
        logger.notice(
            "linked to the group leader",
            metadata: [.peer: "\(connection.peer.nodeName)", .hosts: "\(hostCount)"]
        )
        let lastHeard = LastHeard()
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await connection.sendHeartbeats(every: heartbeatInterval) }
            group.addTask {
                while true {
                    try await Task.sleep(for: heartbeatTimeout / 4)
                    let silent = ContinuousClock.now - lastHeard.instant.withLock { $0 }
                    guard silent > heartbeatTimeout else { continue }
                    logger.error(
                        "the group leader is silent: looking for the leader again",
                        metadata: [.peer: "\(connection.peer.nodeName)", .silentFor: "\(silent)"]
                    )
                    await connection.close()
                    throw TransportError.connectionClosed
                }
            }
            group.addTask {
                var sent = sent
                while true {
                    try await Task.sleep(for: reportInterval)
                    sent = try await sendReport(on: connection, after: sent)
                }
            }
            group.addTask {
                try await connection.serveRequests { envelope in
                    lastHeard.instant.withLock { $0 = .now }
                    return await answer(envelope.message)
                }
                throw TransportError.connectionClosed
            }
        }
    }

    /// The leader's order carried out on the host's agent.
    func answer(_ message: WireMessage) async -> WireMessage? {
        guard case .hostOrder(let order) = message else {
            return .error(
                ErrorMessage(
                    code: .unexpectedMessage,
                    message: "a group manager takes HostOrder from the group leader, not \(message.type)"
                )
            )
        }
        guard await registry.host(order.hostID) != nil else {
            return .commandResult(
                CommandResult(code: .notDelivered, message: "\(order.hostID) is not with this group manager")
            )
        }
        switch order.order {
        case .vmCommand(let command):
            return .commandResult(await groupManager.send(command, to: order.hostID))
        case .powerCommand(let command):
            return .commandResult(await groupManager.send(command, to: order.hostID))
        case .migrationCancel(let cancel):
            return .commandResult(await groupManager.send(cancel, to: order.hostID))
        case .setState(let state):
            await groupManager.setState(HostRecord.State(state), of: order.hostID)
            return .commandResult(CommandResult(code: .ok, message: ""))
        case .release:
            let connection = await registry.release(order.hostID)
            await connection?.close()
            logger.notice(
                "host released: the leader moves it to another group manager",
                metadata: [.host: "\(order.hostID)"]
            )
            return .commandResult(CommandResult(code: .ok, message: "released \(order.hostID)"))
        }
    }
}

extension HostRecord.State {
    init(_ wire: ManagerStatusReply.HostState) {
        switch wire {
        case .active: self = .active
        case .sleeping: self = .sleeping
        case .waking: self = .waking
        case .failed: self = .failed
        }
    }
}

/// What a leader link last sent of one host: while the host keeps its join and its inventory, and the ring still
/// holds every report since, the next report sends only the samples of the newer reports.
struct GroupManagerReportCursor: Equatable, Sendable {
    var joinedAt: ContinuousClock.Instant
    var inventoryRevision: UInt64
    var reportsRecorded: UInt64

    init(_ host: HostRecord) {
        joinedAt = host.joinedAt
        inventoryRevision = host.inventoryRevision
        reportsRecorded = host.reportsRecorded
    }

    /// How many of `host`'s newest reports were not sent since this cursor; nil when they cannot be sent alone
    /// (a new join or inventory, or reports evicted unsent) and the host's whole window must go.
    func newReports(of host: HostRecord) -> Int? {
        guard host.inventory != nil, joinedAt == host.joinedAt, inventoryRevision == host.inventoryRevision,
            host.reportsRecorded >= reportsRecorded
        else { return nil }
        let fresh = host.reportsRecorded - reportsRecorded
        return fresh <= UInt64(host.reports.count) ? Int(fresh) : nil
    }
}

extension HostRegistry {
    /// This group manager's hosts for the leader: each one's row, and its VMs' samples. A host `sent` has a cursor
    /// for goes with only the samples taken since (`samplesAreNew`), the others with their whole window. Returns the
    /// cursors for the next report.
    func groupManagerReport(
        agentAddress: String,
        maxHosts: Int,
        at now: ContinuousClock.Instant,
        after sent: [String: GroupManagerReportCursor] = [:]
    ) -> (report: GroupManagerReport, sent: [String: GroupManagerReportCursor]) {
        var cursors: [String: GroupManagerReportCursor] = [:]
        cursors.reserveCapacity(sent.count)
        // Each host's ring is read once, for its row's estimate and its VMs' samples both.
        let hosts = all().map { host -> GroupManagerReport.Host in
            cursors[host.hostID] = GroupManagerReportCursor(host)
            let newReports = sent[host.hostID]?.newReports(of: host)
            let (demands, newSamples) = host.demands(window: estimator.window, countingNewIn: newReports ?? 0)
            let status = statusHost(
                host,
                at: now,
                estimate: host.inventory == nil ? nil : HostRecord.demand(of: demands, estimator: estimator)
            )
            let vms = zip(zip(host.inventory?.vms ?? [], demands), newSamples).map { pair, fresh in
                let (entry, demand) = pair
                let samples = newReports == nil ? demand.samples[...] : demand.samples.suffix(fresh)
                return GroupManagerReport.VMSamples(uuid: entry.uuid, samples: samples.map(ResourceAmounts.init))
            }
            return GroupManagerReport.Host(
                status: status,
                capabilities: host.description.capabilities,
                hasInventory: host.inventorySinceJoin,
                vms: vms,
                samplesAreNew: newReports != nil
            )
        }
        let report = GroupManagerReport(
            agentAddress: agentAddress,
            maxHosts: UInt32(clamping: maxHosts),
            hosts: hosts,
            sampleWindow: UInt16(clamping: max(1, estimator.window))
        )
        return (report, cursors)
    }
}

/// When the group leader was last heard on a link, shared by the task that reads and the one that watches.
final class LastHeard: Sendable {
    let instant = Mutex(ContinuousClock.now)
}
