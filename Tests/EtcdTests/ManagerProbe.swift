import Logging
import Transport
import Wire

/// What a torpor-manager answers on its Wire port, asked as the torpor CLI would.
enum ManagerProbe: Equatable {
    /// It serves control requests: it leads.
    case leads
    /// It refused a status request with Error `notLeader`, saying this.
    case standsBy(String)
    /// Nothing answered, or something else did.
    case unreachable

    /// A control client for one question, logging nothing below critical.
    private static func probeClient() -> WireClient {
        var logger = Logger(label: "probe")
        logger.logLevel = .critical
        return WireClient(
            hello: Hello(role: .control, softwareVersion: "test", nodeName: "probe"),
            connectTimeout: .seconds(5),
            logger: logger
        )
    }

    static func ask(port: Int) async -> ManagerProbe {
        let client = probeClient()
        guard let connection = try? await client.connect(host: "127.0.0.1", port: port) else { return .unreachable }
        let answer: ManagerProbe
        do {
            let reply = try await connection.request(
                .managerStatusRequest(ManagerStatusRequest(page: HostPageRequest())),
                timeout: .seconds(10)
            )
            if case .managerStatusReply = reply { answer = .leads } else { answer = .unreachable }
        } catch {
            if case .peerError(.notLeader, let message) = error { answer = .standsBy(message) } else { answer = .unreachable }
        }
        await connection.close()
        return answer
    }

    /// Who leads, as the manager on `port` says (LeaderQuery).
    static func whoLeads(port: Int) async -> LeaderReply.Leader? {
        let client = probeClient()
        guard let connection = try? await client.connect(host: "127.0.0.1", port: port) else { return nil }
        let reply = try? await connection.request(.leaderQuery(LeaderQuery()), timeout: .seconds(10))
        await connection.close()
        guard case .leaderReply(let answer) = reply else { return nil }
        return answer.leader
    }
}
