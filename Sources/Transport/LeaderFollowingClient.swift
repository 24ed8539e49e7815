import Logging
import Wire

/// Keeps a connection to whichever manager leads, found through a bootstrap list (`LeaderSearch` decides; this
/// runs its actions): dials, asks LeaderQuery, follows the leader, and on losing it asks again with backoff.
/// What `ReconnectingWireClient` is for one fixed address, this is for a list of managers that fail over.
public struct LeaderFollowingClient: Sendable {
    public var client: WireClient
    public var bootstrap: [HostPort]
    public var backoff: Backoff
    /// How long a manager has to answer the LeaderQuery.
    public var queryTimeout: Duration
    /// An agent's host id: once the leader is found, it is asked which group manager the host joins
    /// (HostAssignmentRequest), and the connection given is to that group manager, or to the leader when it holds
    /// the agents itself. Nil (the CLI, group managers): the leader's connection.
    public var assignedHostID: String?

    public init(
        client: WireClient,
        bootstrap: [HostPort],
        backoff: Backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(5)),
        queryTimeout: Duration = .seconds(10),
        assignedHostID: String? = nil
    ) {
        precondition(!bootstrap.isEmpty, "a bootstrap list needs at least one address")
        self.assignedHostID = assignedHostID
        self.client = client
        self.bootstrap = bootstrap
        self.backoff = backoff
        self.queryTimeout = queryTimeout
    }

    /// A connection to the manager that leads, found by `deadline` (nil: however long it takes). Throws the last
    /// failure once the deadline passes: `.peerError(notLeader, …)` when managers answered but none leads.
    public func connectToLeader(
        until deadline: ContinuousClock.Instant?
    ) async throws(TransportError) -> WireConnection {
        var search = LeaderSearch(bootstrap: bootstrap, backoff: backoff)
        var generator = SystemRandomNumberGenerator()
        return try await follow(&search, first: .start, until: deadline, generator: &generator)
    }

    /// Runs until the calling task is cancelled: `body` gets each connection to the leader, as in
    /// `ReconnectingWireClient.run`; when it ends or the connection drops, the leader is looked for again.
    public func run(
        onLinkStateChange: @escaping @Sendable (WireLinkState) -> Void = { _ in },
        connection body: @escaping @Sendable (WireConnection) async throws -> Void
    ) async {
        var search = LeaderSearch(bootstrap: bootstrap, backoff: backoff)
        var generator = SystemRandomNumberGenerator()
        var event = LeaderSearch.Event.start
        var logger = client.logger
        logger[transportMetadataKey: .peer] = "\(bootstrap.map(\.description).joined(separator: ","))"
        while !Task.isCancelled {
            let connection: WireConnection
            do {
                connection = try await follow(
                    &search,
                    first: event,
                    until: nil,
                    generator: &generator,
                    onDial: { address, attempt in
                        onLinkStateChange(.connecting(address: "\(address)", attempt: attempt))
                    }
                )
            } catch {
                break  // cancelled
            }
            logger.info(
                "following the leader",
                metadata: [
                    TransportMetadataKey.peerNode.rawValue: "\(connection.peer.nodeName)",
                    "torpor.leader": "\(search.current.map { "\($0)" } ?? "?")",
                ]
            )
            onLinkStateChange(.connected(connection.peer))
            let reason = await ReconnectingWireClient.serve(connection, body: body)
            if Task.isCancelled { break }
            logger.notice(
                "lost the leader: asking the bootstrap list again",
                metadata: [TransportMetadataKey.error.rawValue: "\(reason)"]
            )
            onLinkStateChange(.disconnected(reason: reason, retryIn: nil))
            event = .leaderLost
        }
        onLinkStateChange(.disconnected(reason: .cancelled, retryIn: nil))
    }

    /// Runs the search's actions from `first` until a leader's connection is in hand.
    private func follow(
        _ search: inout LeaderSearch,
        first: LeaderSearch.Event,
        until deadline: ContinuousClock.Instant?,
        generator: inout some RandomNumberGenerator,
        onDial: (HostPort, Int) -> Void = { _, _ in }
    ) async throws(TransportError) -> WireConnection {
        var action = search.handle(first, using: &generator)
        var lastFailure = TransportError.connectionClosed
        var attempt = 0
        while true {
            guard !Task.isCancelled else { throw .cancelled }
            switch action {
            case .dial(let address):
                attempt += 1
                onDial(address, attempt)
                let (event, connection) = await ask(address, failure: &lastFailure)
                action = search.handle(event, using: &generator)
                if case .follow = action, let connection {
                    guard let hostID = assignedHostID else { return connection }
                    if let assigned = await assignment(of: hostID, from: connection, failure: &lastFailure) {
                        return assigned
                    }
                    // No group manager for the host now, or it cannot be reached: look again after the backoff.
                    action = search.handle(.leaderLost, using: &generator)
                    continue
                }
                if let connection { await connection.close() }
            case .follow:
                // Only ever right after the answer handled above; start over if it comes otherwise.
                action = search.handle(.leaderLost, using: &generator)
            case .wait(let delay):
                if let deadline, ContinuousClock.now + delay > deadline { throw lastFailure }
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    throw .cancelled
                }
                action = search.handle(.timerFired, using: &generator)
            }
        }
    }

    /// Asks the leader on `leader` where the host `hostID` joins: the leader's connection itself when it holds
    /// agents (or does not know the question), else a new connection to the group manager it names; nil when it
    /// refused or that group manager cannot be reached (`failure` says why), the leader's connection closed.
    private func assignment(
        of hostID: String,
        from leader: WireConnection,
        failure: inout TransportError
    ) async -> WireConnection? {
        let reply: WireMessage
        do {
            reply = try await leader.request(
                .hostAssignmentRequest(HostAssignmentRequest(hostID: hostID)),
                timeout: queryTimeout
            )
        } catch .peerError(code: .unsupported, _) {
            return leader  // a manager that deals no hosts: it holds its agents itself
        } catch {
            failure = error
            await leader.close()
            return nil
        }
        guard case .hostAssignment(let answer) = reply, answer.hostID == hostID else {
            failure = .protocolViolation("the leader answered a HostAssignmentRequest with \(reply.type)")
            await leader.close()
            return nil
        }
        switch answer.target {
        case .leader:
            return leader
        case .groupManager(let id, let address):
            await leader.close()
            guard let groupManager = HostPort(address) else {
                failure = .protocolViolation("the leader sent host \(hostID) to \(id) at '\(address)', not host:port")
                return nil
            }
            client.logger.info(
                "assigned to a group manager",
                metadata: [
                    TransportMetadataKey.peerNode.rawValue: "\(id)",
                    TransportMetadataKey.peer.rawValue: "\(address)",
                ]
            )
            do {
                return try await client.connect(host: groupManager.host, port: groupManager.port)
            } catch {
                failure = error
                return nil
            }
        }
    }

    /// Dials `address` and asks who leads; the connection comes back only when its manager says it leads.
    private func ask(
        _ address: HostPort,
        failure: inout TransportError
    ) async -> (LeaderSearch.Event, WireConnection?) {
        let connection: WireConnection
        do {
            connection = try await client.connect(host: address.host, port: address.port)
        } catch {
            failure = error
            return (.unreachable, nil)
        }
        let reply: WireMessage
        do {
            reply = try await connection.request(.leaderQuery(LeaderQuery()), timeout: queryTimeout)
        } catch {
            failure = error
            await connection.close()
            return (.unreachable, nil)
        }
        guard case .leaderReply(let answer) = reply else {
            failure = .protocolViolation("\(address) answered a LeaderQuery with \(reply.type)")
            await connection.close()
            return (.unreachable, nil)
        }
        switch answer.leader {
        case .elected(let managerID, _) where managerID == connection.peer.nodeName:
            return (.answered(answer.leader, byLeader: true), connection)
        case .elected:
            return (.answered(answer.leader, byLeader: false), connection)
        case .nobody:
            failure = .peerError(code: .notLeader, message: "no leader is elected yet (asked \(address))")
            return (.answered(answer.leader, byLeader: false), connection)
        }
    }
}
