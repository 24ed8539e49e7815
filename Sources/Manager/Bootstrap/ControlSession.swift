import Logging
import Transport
import Wire

/// Serves a control peer's connection (agentctl, the torpor CLI): answers its requests until it closes.
public struct ControlSession: Sendable {
    public let registry: HostRegistry
    public let managerID: String
    public let softwareVersion: String
    public let heartbeatTimeout: Duration
    public let startedAt: ContinuousClock.Instant
    public let logger: Logger

    public init(
        registry: HostRegistry,
        managerID: String,
        softwareVersion: String,
        heartbeatTimeout: Duration,
        startedAt: ContinuousClock.Instant,
        logger: Logger
    ) {
        self.registry = registry
        self.managerID = managerID
        self.softwareVersion = softwareVersion
        self.heartbeatTimeout = heartbeatTimeout
        self.startedAt = startedAt
        self.logger = logger
    }

    func serve(_ connection: WireConnection) async throws {
        // Requests are cheap registry reads, so one at a time is enough.
        for try await envelope in connection.inbound where !envelope.isResponse {
            guard let reply = await answer(envelope.message, at: .now), envelope.requestID != 0 else { continue }
            try await connection.reply(to: envelope.requestID, with: reply)
        }
    }

    /// The reply to one message; nil for pushes that need none.
    public func answer(_ message: WireMessage, at now: ContinuousClock.Instant) async -> WireMessage? {
        switch message {
        case .managerStatusRequest:
            return .managerStatusReply(await statusReply(at: now))
        case .heartbeat, .welcome, .commandResult:
            return nil
        default:
            logger.notice("unsupported request from control peer", metadata: ["torpor.message": "\(message.type)"])
            return .commandResult(
                CommandResult(code: .unsupported, message: "the manager does not accept \(message.type)")
            )
        }
    }

    /// The manager's diagnostics, ages measured at `now`.
    public func statusReply(at now: ContinuousClock.Instant) async -> ManagerStatusReply {
        ManagerStatusReply(
            managerID: managerID,
            softwareVersion: softwareVersion,
            uptimeSeconds: UInt64(max(0, (now - startedAt).components.seconds)),
            heartbeatTimeoutMilliseconds: UInt32(clamping: HostRegistry.milliseconds(heartbeatTimeout)),
            hosts: await registry.statusHosts(at: now)
        )
    }
}
