import Logging
import Transport
import Wire

/// Serves one agent's connection: records heartbeats, inventories and reports until the connection ends.
public struct AgentSession: Sendable {
    let registry: HostRegistry
    let observer: (any GroupManagerObserver)?
    let logHeartbeats: Bool
    let logger: Logger
    /// What an agent following the elected manager is told when it asks who leads (this manager); nil: the
    /// question is answered `unsupported`.
    let leadership: LeaderReply?
    /// Told of each report once it is in the host's ring (bench/run ingest measures how late); nil in the daemon.
    let reportRecorded: (@Sendable (MonitoringReport, _ hostID: String) -> Void)?
    /// Where reports and heartbeats go once the agent has joined: straight from its connection, in batches.
    let intake: ReportIntake

    public init(
        registry: HostRegistry,
        observer: (any GroupManagerObserver)?,
        logHeartbeats: Bool = false,
        logger: Logger,
        leadership: LeaderReply? = nil,
        reportRecorded: (@Sendable (MonitoringReport, _ hostID: String) -> Void)? = nil
    ) {
        self.leadership = leadership
        self.reportRecorded = reportRecorded
        self.registry = registry
        self.observer = observer
        self.logHeartbeats = logHeartbeats
        self.logger = logger
        intake = ReportIntake(registry: registry, recorded: reportRecorded)
    }

    /// Serves an agent's connection after its Welcome until it ends: what the daemon's WireServer handler runs.
    public func serve(_ connection: WireConnection, description: AgentDescription) async throws {
        let hostID = description.hostID
        var logger = logger
        logger[manager: .host] = "\(hostID)"
        let connectionID: UInt64
        do {
            connectionID = try await registry.join(description, over: connection, at: .now)
        } catch {
            // Another connection took the host id between the Welcome and here.
            logger.warning("agent refused after its Welcome", metadata: [.error: "\(error.message)"])
            try? await connection.send(.error(ErrorMessage(code: error.code, message: error.message)))
            await connection.close()
            return
        }
        await observer?.hostJoined(description)
        await connection.tapPushes { [self] message in take(message, from: hostID, connectionID: connectionID) }
        defer { logger.notice("agent connection closed") }
        // Cleared here rather than in the defer, which cannot await the registry.
        do {
            try await receive(connection, hostID: hostID, logger: logger)
        } catch {
            await registry.disconnected(hostID, connectionID: connectionID)
            throw error
        }
        await registry.disconnected(hostID, connectionID: connectionID)
    }

    private func receive(_ connection: WireConnection, hostID: String, logger: Logger) async throws {
        for try await envelope in connection.inbound {
            if case .leaderQuery = envelope.message, envelope.requestID != 0, !envelope.isResponse {
                // An agent with a bootstrap list checks it reached the leader before it reports.
                let answer: WireMessage =
                    leadership.map { .leaderReply($0) }
                    ?? .error(ErrorMessage(code: .unsupported, message: "this manager does not say who leads"))
                try await connection.reply(to: envelope.requestID, with: answer)
                continue
            }
            if case .hostAssignmentRequest(let request) = envelope.message, envelope.requestID != 0,
                !envelope.isResponse
            {
                // This manager holds its agents itself: the agent stays on this connection.
                let answer: WireMessage =
                    request.hostID == hostID
                    ? .hostAssignment(HostAssignment(hostID: hostID, target: .leader))
                    : .error(
                        ErrorMessage(
                            code: .invalidValue,
                            message: "host \(hostID) asked where host \(request.hostID) joins"
                        )
                    )
                try await connection.reply(to: envelope.requestID, with: answer)
                continue
            }
            await handle(envelope.message, from: hostID, logger: logger)
        }
    }

    /// What the manager does with one message from the agent of `hostID` once it has joined. Values are checked
    /// here (`validated()`), before the registry or the leader sees them.
    public func handle(_ message: WireMessage, from hostID: String, logger: Logger) async {
        switch message {
        case .heartbeat(let heartbeat):
            await registry.heartbeat(from: hostID, at: .now)
            if logHeartbeats {
                logger.info("heartbeat", metadata: [.sequence: "\(heartbeat.sequence)"])
            } else {
                logger.debug("heartbeat", metadata: [.sequence: "\(heartbeat.sequence)"])
            }
        case .inventory(let received):
            guard let inventory = accepted(received, from: hostID, logger: logger) else { return }
            await registry.record(inventory, from: hostID)
            await observer?.inventoryReceived(inventory, from: hostID)
            logger.info(
                "inventory",
                metadata: [
                    .vms: "\(inventory.vms.map { "\($0.name)(\($0.state))" }.joined(separator: ","))"
                ]
            )
        case .monitoringReport(let received):
            // A report proves the agent is alive as much as a heartbeat does, even one whose values are refused.
            guard let report = accepted(received, logger: logger) else {
                await registry.heartbeat(from: hostID, at: .now)
                return
            }
            await registry.heartbeat(from: hostID, recording: report, at: .now)
            reportRecorded?(report, hostID)
            logger.debug("report", metadata: [.vms: "\(report.vms.count)"])
        case .powerNotice(let notice):
            await receive(notice, from: hostID, logger: logger)
        case .hypervisorStatus(let status):
            guard await registry.record(status, from: hostID) else { return }
            switch status.state {
            case .unreachable:
                logger.warning(
                    "the host's libvirtd does not answer: nothing is placed or migrated there until it does",
                    metadata: [.reason: "\(status.problem)"]
                )
            case .answering:
                logger.notice("the host's libvirtd answers again")
            }
        case .migrationProgress(let progress):
            let metadata: [ManagerMetadataKey: Logger.MetadataValue] = [
                .vm: "\(progress.vmName)", .phase: "\(progress.phase)",
                .remainingBytes: "\(progress.dataRemainingBytes)",
            ]
            if progress.phase.isFinal {
                logger.notice("migration ended", metadata: metadata)
            } else {
                logger.debug("migration progress", metadata: metadata)
            }
            // The leader's migration task takes it; one ordered by agentctl belongs to no task and is only logged.
            await observer?.migrationProgress(progress, from: hostID)
        default:
            logger.notice("unexpected message from agent", metadata: [.message: "\(message.type)"])
        }
    }

    /// Takes a valid report, or a heartbeat when heartbeats are not logged at info, for the registry's next batch,
    /// on the connection's event loop. False for anything else, and when the intake is full: the session's `handle`
    /// takes it (and logs a report it refuses). Nothing is logged here: at ten thousand reports a second even a debug
    /// line's level check and its logger's copy show in a profile.
    public func take(_ message: WireMessage, from hostID: String, connectionID: UInt64) -> Bool {
        switch message {
        case .monitoringReport(let received):
            guard let report = try? received.validated() else { return false }
            return intake.take(.init(hostID: hostID, connectionID: connectionID, report: report, at: .now))
        case .heartbeat where !logHeartbeats:
            return intake.take(.init(hostID: hostID, connectionID: connectionID, report: nil, at: .now))
        default:
            return false
        }
    }

    /// The inventory if it is this host's and its values are usable (`Inventory.validated()`); nil, logged, if not.
    private func accepted(_ inventory: Inventory, from hostID: String, logger: Logger) -> Inventory? {
        guard inventory.hostID == hostID else {
            logger.error(
                "inventory dropped: it names another host",
                metadata: [.field: "Inventory.hostID", .value: "\(inventory.hostID.debugDescription)"]
            )
            return nil
        }
        do {
            return try inventory.validated()
        } catch {
            logger.error("inventory dropped: \(error)", metadata: [.field: "\(error.field)"])
            return nil
        }
    }

    /// The report if its values are usable (`MonitoringReport.validated()`); nil, logged, if not.
    private func accepted(_ report: MonitoringReport, logger: Logger) -> MonitoringReport? {
        do {
            return try report.validated()
        } catch {
            logger.error("monitoring report dropped: \(error)", metadata: [.field: "\(error.field)"])
            return nil
        }
    }

    private func receive(_ notice: PowerNotice, from hostID: String, logger: Logger) async {
        var metadata: [ManagerMetadataKey: Logger.MetadataValue] = [
            .phase: "\(notice.phase)", .reason: "\(notice.reason)",
        ]
        if let action = notice.action { metadata[.action] = "\(action)" }
        switch notice.phase {
        case .goingDown:
            // Marked before the observer runs: the expiry loop may look at any moment.
            await registry.goingDown(hostID, at: .now)
            logger.notice("host going down", metadata: metadata)
            if let action = notice.action {
                await observer?.hostGoingDown(hostID, action: action, reason: notice.reason)
            }
        case .resumed:
            await registry.resumed(hostID, at: .now)
            logger.notice("host resumed", metadata: metadata)
            await observer?.hostResumed(hostID)
        }
    }
}
