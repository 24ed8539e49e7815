import Logging
import Transport
import Wire

/// Serves a group manager's link on the group leader: answers who leads, takes its reports and relays its hosts'
/// events to the leader in the order they came (`GroupManagerObserver`), until the link ends. Orders go the other
/// way as requests on the same connection (`RemoteGroupManagers`).
struct GroupManagerLinkSession: Sendable {
    let groupManagers: RemoteGroupManagers
    let observer: any GroupManagerObserver
    let leadership: LeaderReply
    /// The leader's heartbeats to the group manager, so that one cut off from a leader that is silent (stopped,
    /// partitioned: no connection reset) notices within its heartbeat timeout and looks for the next leader.
    let heartbeatInterval: Duration
    let logger: Logger

    func serve(_ connection: WireConnection) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await connection.sendHeartbeats(every: heartbeatInterval) }
            defer { group.cancelAll() }
            try await receive(connection)
        }
    }

    private func receive(_ connection: WireConnection) async throws {
        let id = connection.peer.nodeName
        var logger = logger
        logger[manager: .groupManager] = "\(id)"
        var serial: UInt64?
        defer { if serial != nil { logger.notice("group manager link closed") } }
        do {
            for try await envelope in connection.inbound where !envelope.isResponse {
                switch envelope.message {
                case .leaderQuery where envelope.requestID != 0:
                    try await connection.reply(to: envelope.requestID, with: .leaderReply(leadership))
                case .groupManagerReport(let report):
                    if serial == nil {
                        serial = await groupManagers.attach(id, connection: connection, report: report)
                    } else {
                        await groupManagers.apply(report, from: id, at: .now)
                    }
                case .groupManagerEvent(let event) where serial != nil:
                    await deliver(event, from: id, logger: logger)
                case .heartbeat:
                    continue  // the link's liveness: its end is what counts
                default:
                    logger.notice(
                        "unexpected message from group manager",
                        metadata: [.message: "\(envelope.message.type)"]
                    )
                    if envelope.requestID != 0 {
                        try await connection.reply(
                            to: envelope.requestID,
                            with: .error(
                                ErrorMessage(
                                    code: .unexpectedMessage,
                                    message: "a group leader takes GroupManagerReport and GroupManagerEvent from "
                                        + "a group manager, not \(envelope.message.type)"
                                )
                            )
                        )
                    }
                }
            }
        } catch {
            if let serial { await groupManagers.detach(id, serial: serial, at: .now) }
            throw error
        }
        if let serial { await groupManagers.detach(id, serial: serial, at: .now) }
    }

    /// The leader's view first, then the leader, as `AgentSession` does for an agent in this process. An inventory
    /// is checked as an agent's is (`Inventory.validated()`, its own host): a bad one is dropped, logged.
    private func deliver(_ event: GroupManagerEvent, from id: String, logger: Logger) async {
        let hostID = event.hostID
        var event = event
        switch event.event {
        case .joined(let description) where description.hostID != hostID:
            logger.error("event dropped: a Joined for another host", metadata: [.host: "\(hostID)"])
            return
        case .inventory(let inventory):
            guard let checked = Self.checked(inventory, of: hostID, logger: logger) else { return }
            event.event = .inventory(checked)
        case .failed(let description, let lastInventory):
            event.event = .failed(
                description,
                lastInventory: lastInventory.flatMap { Self.checked($0, of: hostID, logger: logger) }
            )
        default:
            break
        }
        let failed = await groupManagers.apply(event, from: id, at: .now)
        switch event.event {
        case .joined(let description):
            logger.info("host joined a group manager", metadata: [.host: "\(hostID)"])
            await observer.hostJoined(description)
        case .inventory(let inventory):
            await observer.inventoryReceived(inventory, from: hostID)
        case .failed:
            if let failed { await observer.hostsFailed([failed]) }
        case .goingDown(let action, let reason):
            await observer.hostGoingDown(hostID, action: action, reason: reason)
        case .resumed:
            await observer.hostResumed(hostID)
        case .migrationProgress(let progress):
            await observer.migrationProgress(progress, from: hostID)
        }
    }

    static func checked(_ inventory: Inventory, of hostID: String, logger: Logger) -> Inventory? {
        guard inventory.hostID == hostID else {
            logger.error(
                "inventory dropped: it names another host",
                metadata: [
                    .host: "\(hostID)", .field: "Inventory.hostID", .value: "\(inventory.hostID.debugDescription)",
                ]
            )
            return nil
        }
        do {
            return try inventory.validated()
        } catch {
            logger.error("inventory dropped: \(error)", metadata: [.host: "\(hostID)", .field: "\(error.field)"])
            return nil
        }
    }
}
