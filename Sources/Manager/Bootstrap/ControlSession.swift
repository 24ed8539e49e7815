import Logging
import Transport
import Wire

/// The bootstrap role: the first contact for control peers (agentctl, the torpor CLI). It answers diagnostics
/// from the group manager's registry and hands cluster requests to the group leader.
public struct ControlSession: Sendable {
    public let registry: HostRegistry
    /// Where cluster requests go; nil in a manager that plays no leader role (then they are refused).
    public let leader: GroupLeader?
    public let managerID: String
    public let softwareVersion: String
    public let heartbeatTimeout: Duration
    public let startedAt: ContinuousClock.Instant
    public let logger: Logger

    public init(
        registry: HostRegistry,
        leader: GroupLeader? = nil,
        managerID: String,
        softwareVersion: String,
        heartbeatTimeout: Duration,
        startedAt: ContinuousClock.Instant,
        logger: Logger
    ) {
        self.registry = registry
        self.leader = leader
        self.managerID = managerID
        self.softwareVersion = softwareVersion
        self.heartbeatTimeout = heartbeatTimeout
        self.startedAt = startedAt
        self.logger = logger
    }

    func serve(_ connection: WireConnection) async throws {
        // Each request in its own child task: a long task wait must not hold up a status query.
        try await withThrowingDiscardingTaskGroup { group in
            for try await envelope in connection.inbound where !envelope.isResponse {
                group.addTask {
                    guard let reply = await answer(envelope.message, at: .now), envelope.requestID != 0 else { return }
                    try await connection.reply(to: envelope.requestID, with: reply)
                }
            }
        }
    }

    /// The reply to one message; nil for pushes that need none.
    public func answer(_ message: WireMessage, at now: ContinuousClock.Instant) async -> WireMessage? {
        switch message {
        case .managerStatusRequest:
            return .managerStatusReply(await statusReply(at: now))
        case .clusterRequest(let request):
            guard let leader else {
                return .commandResult(CommandResult(code: .unsupported, message: "this manager is not a group leader"))
            }
            return await leader.handle(request)
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
