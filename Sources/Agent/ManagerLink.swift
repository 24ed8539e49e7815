import Logging
import Transport
import Wire

/// The agent's connection to its manager: says hello with the host's description, sends Inventory whenever
/// the VM set changes and a MonitoringReport after every sampling round, heartbeats at the interval the
/// manager assigned, answers the manager's commands and carries the agent's PowerNotices. Reconnects with backoff
/// (at once when `control` asks, after a resume); sampling never stops.
public struct ManagerLink: Sendable {
    public let manager: HostPort
    public let description: AgentDescription
    public let agentVersion: String
    public let monitor: AgentMonitor
    public let handler: AgentRequestHandler
    public let status: ManagerLinkStatus
    public let defaultHeartbeat: Duration
    public let backoff: Backoff
    public let control: ManagerLinkControl
    public let logger: Logger

    public init(
        manager: HostPort,
        description: AgentDescription,
        agentVersion: String,
        monitor: AgentMonitor,
        handler: AgentRequestHandler,
        status: ManagerLinkStatus,
        defaultHeartbeat: Duration,
        backoff: Backoff = Backoff(),
        control: ManagerLinkControl,
        logger: Logger
    ) {
        self.manager = manager
        self.description = description
        self.agentVersion = agentVersion
        self.monitor = monitor
        self.handler = handler
        self.status = status
        self.defaultHeartbeat = defaultHeartbeat
        self.backoff = backoff
        self.control = control
        self.logger = logger
    }

    public func run() async {
        let hello = Hello(
            role: .agent,
            softwareVersion: agentVersion,
            nodeName: description.hostname,
            agent: description
        )
        let client = WireClient(hello: hello, logger: logger)
        let reconnecting = ReconnectingWireClient(
            client: client,
            host: manager.host,
            port: manager.port,
            backoff: backoff
        )
        let status = self.status
        var requests = control.reconnectRequestStream.makeAsyncIterator()
        while !Task.isCancelled {
            let again = await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    await reconnecting.run(
                        onLinkStateChange: { state in
                            switch state {
                            case .connecting: status.set(.connecting)
                            case .connected: status.set(.connected)
                            case .disconnected: status.set(.disconnected)
                            }
                        },
                        connection: { connection in try await self.serve(connection) }
                    )
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
            assignment.map { Duration.milliseconds(Int64($0.heartbeatIntervalMilliseconds)) } ?? defaultHeartbeat
        logger.info(
            "joined manager",
            metadata: [
                "torpor.manager": "\(connection.peer.nodeName)",
                "torpor.heartbeat": "\(heartbeat)",
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
            if let report = await monitor.report() { try await connection.send(.monitoringReport(report)) }
            if control.takeResumePending() {
                try await connection.sendIgnorable(.powerNotice(.resumed(reason: "system resume")))
                logger.notice("power notice sent to the manager", metadata: ["torpor.phase": "resumed"])
            }
            for await _ in rounds {
                let generation = await monitor.inventoryGeneration
                if generation != sentGeneration {
                    try await connection.send(.inventory(await monitor.inventory()))
                    sentGeneration = generation
                }
                if let report = await monitor.report() { try await connection.send(.monitoringReport(report)) }
            }
            group.cancelAll()
        }
    }
}
