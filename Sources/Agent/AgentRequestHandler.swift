import Logging
import Transport
import Wire

/// Answers requests on any connection, whether agentctl dialled in, the manager dialled in, or the agent
/// dialled the manager. Each request runs in its own child task so a slow command never delays a ping.
public struct AgentRequestHandler: Sendable {
    public let monitor: AgentMonitor
    public let executor: CommandExecutor
    public let agentVersion: String
    public let logger: Logger

    public init(monitor: AgentMonitor, executor: CommandExecutor, agentVersion: String, logger: Logger) {
        self.monitor = monitor
        self.executor = executor
        self.agentVersion = agentVersion
        self.logger = logger
    }

    /// Serves requests until the connection's inbound side ends, as many at once as the connection allows
    /// (`connections.max_requests_per_connection`); more are answered busy.
    public func serve(_ connection: WireConnection) async throws {
        try await connection.serveRequests { envelope in await self.answer(envelope.message, from: connection.peer) }
    }

    /// The reply to one message; nil for pushes that need none. `peer` (who sent it) names a power action's origin.
    public func answer(_ message: WireMessage, from peer: WirePeer? = nil) async -> WireMessage? {
        switch message {
        case .statusRequest:
            return .statusReply(await monitor.status(agentVersion: agentVersion))
        case .samplesRequest(let request):
            let last = request.last == 0 ? nil : Int(request.last)
            guard let reply = await monitor.samples(vm: request.vmName, last: last) else {
                return .commandResult(
                    CommandResult(code: .notFound, message: "no VM named '\(request.vmName)' on this host")
                )
            }
            return .samplesReply(reply)
        case .vmCommand(let command):
            let result = await executor.execute(command)
            await monitor.sampleOnce()
            return .commandResult(result)
        case .powerCommand(let command):
            return .commandResult(await executor.execute(command, reason: Self.origin(of: peer)))
        case .migrationCancel(let request):
            return .commandResult(executor.migrations.cancel(request))
        case .heartbeat, .welcome, .commandResult:
            return nil
        default:
            // Manager-bound and CLI messages (PowerNotice, ClusterRequest, …): also those added after this agent.
            logger.notice("ignored unexpected message", metadata: ["torpor.message": "\(message.type)"])
            return .commandResult(
                CommandResult(code: .unsupported, message: "an agent does not accept \(message.type)")
            )
        }
    }

    /// Who ordered a power action, as the PowerNotice's reason: "manager order", or the control peer's name
    /// ("agentctl").
    static func origin(of peer: WirePeer?) -> String {
        guard let peer else { return "manager order" }
        switch peer.role {
        case .manager: return "manager order"
        case .control, .agent: return peer.nodeName.isEmpty ? "\(peer.role) peer" : peer.nodeName
        }
    }
}
