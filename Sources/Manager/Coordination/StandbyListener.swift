import Etcd
import Logging
import Transport
import Wire

/// What a standby manager (`coordination:`, not elected) does with each message on its `listen` address: it says
/// who leads and refuses everything else with Error `notLeader` naming the leader, changing nothing (docs/ha.md).
/// Pure: the leader is passed in.
enum StandbyAnswer: Hashable, Sendable {
    /// Answer the request with this message; the connection stays open.
    case reply(WireMessage)
    /// An unsolicited message (an agent's Inventory, reports): send this Error and close, as for any unsolicited
    /// Error; the agent dials again and finds the leader.
    case refuseAndClose(ErrorMessage)
    /// Nothing to do (a heartbeat, a response).
    case ignore

    /// `leader` is who leads as etcd says (nil: etcd could not be asked).
    static func to(_ envelope: WireEnvelope, leader: LeaderReply.Leader?) -> StandbyAnswer {
        if envelope.isResponse { return .ignore }
        switch envelope.message {
        case .heartbeat, .error, .welcome, .hello:
            return .ignore
        case .leaderQuery:
            guard envelope.requestID != 0 else { return .ignore }
            return .reply(.leaderReply(LeaderReply(leader: leader ?? .nobody)))
        default:
            let refusal = notLeader(leader, tried: envelope.message.type)
            return envelope.requestID == 0 ? .refuseAndClose(refusal) : .reply(.error(refusal))
        }
    }

    /// "not the leader; leader is m2 at 10.0.0.12:7700", or that none is elected yet.
    static func notLeader(_ leader: LeaderReply.Leader?, tried: WireMessageType) -> ErrorMessage {
        let who: String
        switch leader {
        case .elected(let managerID, let address): who = "leader is \(managerID) at \(address)"
        case .nobody: who = "no leader is elected yet"
        case nil: who = "who leads is unknown (etcd did not answer)"
        }
        return ErrorMessage(code: .notLeader, message: "not the leader; \(who) (\(tried) not done here)")
    }

    /// Who leads from the election key's value (`ADVERTISE MANAGER_ID`, as `CoordinatedManagerService` writes it).
    static func leader(fromElectionValue value: String?) -> LeaderReply.Leader {
        guard let value else { return .nobody }
        let parts = value.split(separator: " ", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return .nobody }
        return .elected(managerID: parts[1], address: parts[0])
    }
}

/// The standby's Wire listener: bound on `listen` with the leader's own TLS settings, it welcomes any peer the
/// trust settings admit, as a manager with no assignment, and answers as `StandbyAnswer` says. Closed (its task
/// cancelled) before the elected manager binds the same address for the real listener.
enum StandbyListener {
    static func bind(
        configuration: ManagerConfiguration,
        softwareVersion: String,
        client: EtcdClient,
        prefix: String,
        logger: Logger
    ) async throws -> WireServer {
        guard let listen = HostPort(configuration.listen, allowsPortZero: true) else {
            throw ManagerDaemon.StartupError.listen(configuration.listen, reason: "not host:port")
        }
        let security: WireSecurity
        do {
            security = try configuration.tls.security(addresses: [("listen", listen.host)])
        } catch {
            throw ManagerDaemon.StartupError.tls("\(error)")
        }
        try ManagerDaemon.checkSecretFiles(configuration)
        let managerID = configuration.managerID
        do {
            return try await WireServer.bind(
                host: listen.host,
                port: listen.port,
                configuration: configuration.connection,
                limits: configuration.serverLimits,
                security: security,
                logger: logger,
                welcome: { _, version in
                    Welcome(version: version, role: .manager, softwareVersion: softwareVersion, nodeName: managerID)
                },
                handler: { connection in
                    for try await envelope in connection.inbound {
                        let leader: LeaderReply.Leader?
                        switch envelope.message {
                        case .heartbeat, .error: leader = nil  // no need to ask etcd
                        default:
                            do {
                                let value = try await Election.leader(client: client, prefix: prefix)?.string
                                leader = StandbyAnswer.leader(fromElectionValue: value)
                            } catch {
                                logger.warning("cannot ask etcd who leads", metadata: [.error: "\(error)"])
                                leader = nil
                            }
                        }
                        switch StandbyAnswer.to(envelope, leader: leader) {
                        case .ignore:
                            continue
                        case .reply(let message):
                            if case .error(let refusal) = message {
                                logger.info(
                                    "refused: standing by",
                                    metadata: [.message: "\(envelope.message.type)", .error: "\(refusal.message)"]
                                )
                            }
                            try await connection.reply(to: envelope.requestID, with: message)
                        case .refuseAndClose(let refusal):
                            logger.info(
                                "refused: standing by",
                                metadata: [.message: "\(envelope.message.type)", .error: "\(refusal.message)"]
                            )
                            try? await connection.send(.error(refusal))
                            return
                        }
                    }
                }
            )
        } catch {
            throw ManagerDaemon.StartupError.listen(configuration.listen, reason: "\(error)")
        }
    }
}
