import Synchronization
import Testing
import Transport
import Wire

/// `LeaderFollowingClient` against real Wire servers on loopback that answer LeaderQuery as managers do: it finds
/// the leader through a standby, follows it, and when the leader's server goes away finds the next one.
@Suite(.timeLimit(.minutes(5))) struct LeaderFollowingClientTests {
    /// Who leads, shared by the test's managers: the leader's id and address.
    final class Election: Sendable {
        let leader = Mutex<(id: String, address: String)?>(nil)
        func set(_ id: String?, _ address: String?) {
            leader.withLock { $0 = id.flatMap { id in address.map { (id, $0) } } }
        }
        var reply: LeaderReply {
            leader.withLock { current in
                LeaderReply(leader: current.map { .elected(managerID: $0.id, address: $0.address) } ?? .nobody)
            }
        }
    }

    /// A manager called `id`: answers LeaderQuery from `election`, and a status request only while it leads.
    static func manager(_ id: String, _ election: Election) async throws -> WireServer {
        try await WireServer.bind(
            host: "127.0.0.1",
            port: 0,
            configuration: testConfiguration,
            logger: testLogger,
            welcome: { _, version in
                Welcome(version: version, role: .manager, softwareVersion: "0.0.0-test", nodeName: id)
            },
            handler: { connection in
                try await connection.serveRequests { envelope in
                    switch envelope.message {
                    case .leaderQuery: return .leaderReply(election.reply)
                    default:
                        guard case .elected(id, _) = election.reply.leader else {
                            return .error(ErrorMessage(code: .notLeader, message: "not the leader"))
                        }
                        return .commandResult(CommandResult(code: .ok, message: id))
                    }
                }
            }
        )
    }

    @Test func findsTheLeaderThroughAStandbyAndTheNextOneWhenItGoes() async throws {
        let election = Election()
        let servers = try await [Self.manager("m1", election), Self.manager("m2", election), Self.manager("m3", election)]
        let addresses = servers.map { HostPort(host: "127.0.0.1", port: $0.port ?? 0) }
        election.set("m2", "\(addresses[1])")
        let runs = servers.map { server in Task { try await server.run() } }
        defer { for run in runs { run.cancel() } }

        let followed = Recorder<String>()
        let following = LeaderFollowingClient(
            client: makeClient(),
            bootstrap: addresses,
            backoff: Backoff(initial: .milliseconds(20), maximum: .milliseconds(200))
        )
        let follower = Task {
            await following.run { connection in
                let reply = try await connection.request(.managerStatusRequest(ManagerStatusRequest()), timeout: .seconds(30))
                guard case .commandResult(let result) = reply else { return }
                await followed.record(result.message)
                for try await _ in connection.inbound {}
            }
        }
        #expect(await followed.wait(for: 1) == ["m2"])

        // The leader goes (its server and connections with it); m3 is elected; m1 now names it.
        election.set("m3", "\(addresses[2])")
        runs[1].cancel()
        _ = try? await runs[1].value
        #expect(await followed.wait(for: 2) == ["m2", "m3"])
        follower.cancel()
        await follower.value
    }

    @Test func noLeaderByTheDeadlineFailsNamingIt() async throws {
        let election = Election()
        let server = try await Self.manager("m1", election)
        let run = Task { try await server.run() }
        defer { run.cancel() }
        let following = LeaderFollowingClient(
            client: makeClient(),
            bootstrap: [HostPort(host: "127.0.0.1", port: server.port ?? 0)],
            backoff: Backoff(initial: .milliseconds(20), maximum: .milliseconds(100))
        )
        await #expect(throws: TransportError.peerError(code: .notLeader, message: "no leader is elected yet (asked 127.0.0.1:\(server.port ?? 0))")) {
            _ = try await following.connectToLeader(until: .now + .seconds(1))
        }
        // Once one is elected, the same search finds it.
        election.set("m1", "127.0.0.1:\(server.port ?? 0)")
        let connection = try await following.connectToLeader(until: .now + .seconds(60))
        #expect(connection.peer.nodeName == "m1")
        await connection.close()
    }

    @Test func nothingReachableFailsWithTheConnectError() async throws {
        let port = try unusedPort()
        let following = LeaderFollowingClient(
            client: makeClient(),
            bootstrap: [HostPort(host: "127.0.0.1", port: port)],
            backoff: Backoff(initial: .milliseconds(20), maximum: .milliseconds(100))
        )
        await #expect {
            _ = try await following.connectToLeader(until: .now + .seconds(1))
        } throws: { error in
            guard case TransportError.connectFailed(_, port, _) = error else { return false }
            return true
        }
    }
}
