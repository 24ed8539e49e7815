import Logging
import Transport
import Wire

/// Serves one agent's connection: records heartbeats, inventories and reports until the connection ends.
struct AgentSession {
    let registry: HostRegistry
    let observer: (any GroupManagerObserver)?
    let logHeartbeats: Bool
    let logger: Logger

    func serve(_ connection: WireConnection, description: AgentDescription) async throws {
        let hostID = description.hostID
        var logger = logger
        logger[metadataKey: "torpor.host"] = "\(hostID)"
        let connectionID = await registry.join(description, at: .now)
        await registry.attach(connection, to: hostID, connectionID: connectionID)
        await observer?.hostJoined(description)
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
            switch envelope.message {
            case .heartbeat(let heartbeat):
                await registry.heartbeat(from: hostID, at: .now)
                if logHeartbeats {
                    logger.info("heartbeat", metadata: ["torpor.sequence": "\(heartbeat.sequence)"])
                } else {
                    logger.debug("heartbeat", metadata: ["torpor.sequence": "\(heartbeat.sequence)"])
                }
            case .inventory(let inventory):
                await registry.record(inventory, from: hostID)
                await observer?.inventoryReceived(inventory, from: hostID)
                logger.info(
                    "inventory",
                    metadata: [
                        "torpor.vms": "\(inventory.vms.map { "\($0.name)(\($0.state))" }.joined(separator: ","))"
                    ]
                )
            case .monitoringReport(let report):
                // A report proves the agent is alive as much as a heartbeat does.
                await registry.heartbeat(from: hostID, at: .now)
                await registry.record(report, from: hostID, at: .now)
                logger.debug("report", metadata: ["torpor.vms": "\(report.vms.count)"])
            case .powerNotice(let notice):
                await receive(notice, from: hostID, logger: logger)
            default:
                logger.notice("unexpected message from agent", metadata: ["torpor.message": "\(envelope.message.type)"])
            }
        }
    }

    private func receive(_ notice: PowerNotice, from hostID: String, logger: Logger) async {
        var metadata: Logger.Metadata = ["torpor.phase": "\(notice.phase)", "torpor.reason": "\(notice.reason)"]
        if let action = notice.action { metadata["torpor.action"] = "\(action)" }
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
