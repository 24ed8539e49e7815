import Logging
import Transport
import Wire

/// The agent's connection to its manager: says hello with the host's description, sends Inventory whenever
/// the VM set changes and the newest MonitoringReport at the report interval the manager assigned (never the same
/// round twice), heartbeats at the interval the manager assigned, answers the manager's commands and carries the
/// agent's PowerNotices. Reconnects with backoff
/// (at once when `control` asks, after a resume); sampling never stops.
public struct ManagerLink: Sendable {
    public let manager: HostPort
    /// Managers that fail over (`managers:`): the link follows whichever leads (`LeaderFollowingClient`). Empty:
    /// it dials `manager` alone.
    public let bootstrap: [HostPort]
    public let description: AgentDescription
    public let agentVersion: String
    public let monitor: AgentMonitor
    public let handler: AgentRequestHandler
    public let status: ManagerLinkStatus
    public let defaultHeartbeat: Duration
    /// Used when the manager assigns no report interval: a report after every sampling round.
    public let defaultReportInterval: Duration
    public let backoff: Backoff
    public let control: ManagerLinkControl
    /// TLS: the manager must present a manager certificate from the cluster CA.
    public let security: WireSecurity
    /// The agent's Wire metrics, shared with its server.
    public let frameCounters: WireFrameCounters
    public let logger: Logger

    public init(
        manager: HostPort,
        bootstrap: [HostPort] = [],
        description: AgentDescription,
        agentVersion: String,
        monitor: AgentMonitor,
        handler: AgentRequestHandler,
        status: ManagerLinkStatus,
        defaultHeartbeat: Duration,
        defaultReportInterval: Duration = .zero,
        backoff: Backoff = Backoff(),
        control: ManagerLinkControl,
        security: WireSecurity = .plaintext,
        frameCounters: WireFrameCounters = .none,
        logger: Logger
    ) {
        self.frameCounters = frameCounters
        self.manager = manager
        self.bootstrap = bootstrap
        self.description = description
        self.agentVersion = agentVersion
        self.monitor = monitor
        self.handler = handler
        self.status = status
        self.defaultHeartbeat = defaultHeartbeat
        self.defaultReportInterval = defaultReportInterval
        self.backoff = backoff
        self.control = control
        self.security = security
        self.logger = logger
    }

    public func run() async {
        let hello = Hello(
            role: .agent,
            softwareVersion: agentVersion,
            nodeName: description.hostname,
            agent: description
        )
        var client = WireClient(hello: hello, security: security, logger: logger)
        client.frameCounters = frameCounters
        let reconnecting = ReconnectingWireClient(
            client: client,
            host: manager.host,
            port: manager.port,
            backoff: backoff
        )
        // With a bootstrap list the leader may send the agent to a group manager (docs/ha.md "Group managers").
        let following =
            bootstrap.isEmpty
            ? nil : LeaderFollowingClient(client: client, bootstrap: bootstrap, assignedHostID: description.hostID)
        let status = self.status
        var requests = control.reconnectRequestStream.makeAsyncIterator()
        while !Task.isCancelled {
            let again = await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    let onLinkStateChange: @Sendable (WireLinkState) -> Void = { state in
                        switch state {
                        case .connecting: status.set(.connecting)
                        case .connected: status.set(.connected)
                        case .disconnected: status.set(.disconnected)
                        }
                    }
                    if let following {
                        await following.run(onLinkStateChange: onLinkStateChange) { connection in
                            try await self.serve(connection)
                        }
                    } else {
                        await reconnecting.run(onLinkStateChange: onLinkStateChange) { connection in
                            try await self.serve(connection)
                        }
                    }
                }
                // nil: cancelled (or no one can ask any more); the link runs until its task ends.
                guard await requests.next() != nil else {
                    await group.waitForAll()
                    return false
                }
                // Cancelling closes the connection (or the wait); a new client starts with no backoff.
                group.cancelAll()
                return true
            }
            guard again else { break }
            logger.notice("reconnecting to the manager now", metadata: ["torpor.manager": "\(manager)"])
        }
    }

    func serve(_ connection: WireConnection) async throws {
        let assignment = connection.peer.welcome?.assignment
        let heartbeat =
            assignment.map { assignment -> Duration in
                // A manager's 0 would make this agent send heartbeats without pause.
                let floor = Welcome.Assignment.minimumHeartbeatIntervalMilliseconds
                return .milliseconds(Int64(max(assignment.heartbeatIntervalMilliseconds, floor)))
            } ?? defaultHeartbeat
        let reportInterval = Self.reportInterval(
            assigned: assignment?.reportIntervalMilliseconds,
            default: defaultReportInterval
        )
        logger.info(
            "joined manager",
            metadata: [
                "torpor.manager": "\(connection.peer.nodeName)",
                "torpor.heartbeat": "\(heartbeat)",
                "torpor.report_interval": "\(reportInterval)",
            ]
        )
        let rounds = await monitor.rounds()
        let (outboxID, outbox) = control.attach()
        defer { control.detach(outboxID) }
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await connection.sendHeartbeats(every: heartbeat) }
            group.addTask { try await self.handler.serve(connection) }
            group.addTask {
                for await outgoing in outbox {
                    defer { outgoing.sent.finish() }
                    try await connection.sendIgnorable(outgoing.message)
                    outgoing.sent.yield()
                }
            }
            // Inventory first, so the manager knows every VM (and its slot) before any report names it.
            var sentGeneration = await monitor.inventoryGeneration
            try await connection.send(.inventory(await monitor.inventory()))
            // The manager takes a joining host's libvirtd to answer; it is told when it does not, and each change.
            var toldUnreachable = false
            if let problem = await monitor.hypervisorProblem {
                try await tell(.unreachable(problem), on: connection)
                toldUnreachable = true
            }
            var reported = try await sendReport(on: connection, after: nil)
            if control.takeResumePending() {
                try await connection.sendIgnorable(.powerNotice(.resumed(reason: "system resume")))
                logger.notice("power notice sent to the manager", metadata: ["torpor.phase": "resumed"])
            }
            var lastReport: ContinuousClock.Instant? = reported == nil ? nil : .now
            for await _ in rounds {
                let problem = await monitor.hypervisorProblem
                if (problem != nil) != toldUnreachable {
                    try await tell(problem.map { .unreachable($0) } ?? .answering, on: connection)
                    toldUnreachable = problem != nil
                }
                let generation = await monitor.inventoryGeneration
                if generation != sentGeneration {
                    try await connection.send(.inventory(await monitor.inventory()))
                    sentGeneration = generation
                }
                // Rounds come every sampling interval (and after VM events); reports at the assigned interval, less
                // a tenth so that a round arriving a little early does not skip a whole interval.
                if let lastReport, ContinuousClock.now - lastReport < reportInterval * 0.9 { continue }
                if let round = try await sendReport(on: connection, after: reported) {
                    reported = round
                    lastReport = ContinuousClock.now
                }
            }
            group.cancelAll()
        }
    }

    /// Ignorable: a manager from before HypervisorStatus skips it.
    private func tell(_ status: HypervisorStatus, on connection: WireConnection) async throws {
        try await connection.sendIgnorable(.hypervisorStatus(status))
        logger.notice(
            status.state == .unreachable
                ? "told the manager libvirtd does not answer" : "told the manager libvirtd answers again",
            metadata: ["torpor.problem": "\(status.problem)"]
        )
    }

    /// Sends the newest round's report if it is newer than `round`; returns the round sent.
    private func sendReport(on connection: WireConnection, after round: Int?) async throws -> Int? {
        guard let (newest, report) = await monitor.newestReport(), newest != round else { return nil }
        try await connection.send(.monitoringReport(report))
        return newest
    }

    /// The manager's assigned report interval; zero or none means the agent's own default.
    static func reportInterval(assigned milliseconds: UInt32?, default fallback: Duration) -> Duration {
        guard let milliseconds, milliseconds > 0 else { return fallback }
        // Like the heartbeat: a manager's 1 ms would make this agent report without pause.
        return .milliseconds(Int64(max(milliseconds, Welcome.Assignment.minimumHeartbeatIntervalMilliseconds)))
    }
}
