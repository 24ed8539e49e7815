import Logging
import Transport
import Wire

/// Serves an agent's connection on a group leader whose hosts are held by group managers: it answers who leads
/// and which group manager the host joins (HostAssignmentRequest), then the agent goes there. Anything else is
/// refused with an Error that says what to do: such an agent was given this manager alone (`manager:`), without
/// the bootstrap list that makes it ask.
struct AssignmentSession: Sendable {
    let groupManagers: RemoteGroupManagers
    let leadership: LeaderReply
    let logger: Logger

    func serve(_ connection: WireConnection, description: AgentDescription) async throws {
        var logger = logger
        logger[manager: .host] = "\(description.hostID)"
        for try await envelope in connection.inbound where !envelope.isResponse {
            switch envelope.message {
            case .leaderQuery where envelope.requestID != 0:
                try await connection.reply(to: envelope.requestID, with: .leaderReply(leadership))
            case .hostAssignmentRequest(let request) where envelope.requestID != 0:
                try await connection.reply(to: envelope.requestID, with: await answer(request, from: description))
            case .heartbeat:
                continue
            default:
                logger.warning(
                    "agent did not ask for a group manager",
                    metadata: [.message: "\(envelope.message.type)"]
                )
                try? await connection.send(
                    .error(
                        ErrorMessage(
                            code: .unsupported,
                            message: "this group leader holds no agents: give the agent every manager's address "
                                + "(managers: [...]) so that it asks which group manager to join"
                        )
                    )
                )
                await connection.close()
                return
            }
        }
    }

    private func answer(_ request: HostAssignmentRequest, from description: AgentDescription) async -> WireMessage {
        guard request.hostID == description.hostID else {
            return .error(
                ErrorMessage(
                    code: .invalidValue,
                    message: "host \(description.hostID) asked where host \(request.hostID) joins"
                )
            )
        }
        switch await groupManagers.assignment(of: request.hostID) {
        case .success(let target):
            if case .groupManager(let id, let address) = target {
                logger.info(
                    "host assigned to a group manager",
                    metadata: [.host: "\(request.hostID)", .groupManager: "\(id)", .address: "\(address)"]
                )
            }
            return .hostAssignment(HostAssignment(hostID: request.hostID, target: target))
        case .failure(let refusal):
            logger.warning(
                "no group manager for a host",
                metadata: [.host: "\(request.hostID)", .reason: "\(refusal.reason)"]
            )
            return .error(
                ErrorMessage(code: .busy, message: "no group manager for \(request.hostID): \(refusal.reason)")
            )
        }
    }
}
