import Logging
import Testing
import Wire

@testable import Manager

/// What a standby manager answers (`StandbyAnswer`), table-driven: who leads to LeaderQuery, Error `notLeader`
/// naming the leader to everything else, an unsolicited message refused with the connection closed.
@Suite struct StandbyAnswerTests {
    static let m2 = LeaderReply.Leader.elected(managerID: "m2", address: "10.0.0.12:7700")
    static let notLeaderM2 = ErrorMessage(
        code: .notLeader,
        message: "not the leader; leader is m2 at 10.0.0.12:7700 (ClusterRequest not done here)"
    )

    static let cases: [(String, WireEnvelope, LeaderReply.Leader?, StandbyAnswer)] = [
        (
            "who leads: m2", WireEnvelope(requestID: 3, message: .leaderQuery(LeaderQuery())), m2,
            .reply(.leaderReply(LeaderReply(leader: m2)))
        ),
        (
            "who leads: nobody yet", WireEnvelope(requestID: 3, message: .leaderQuery(LeaderQuery())), LeaderReply.Leader.nobody,
            .reply(.leaderReply(LeaderReply(leader: .nobody)))
        ),
        (
            "who leads: etcd did not answer", WireEnvelope(requestID: 3, message: .leaderQuery(LeaderQuery())), nil,
            .reply(.leaderReply(LeaderReply(leader: .nobody)))
        ),
        (
            "a cluster request", WireEnvelope(requestID: 4, message: .clusterRequest(.define(cluster: "c"))), m2,
            .reply(.error(notLeaderM2))
        ),
        (
            "a status request, nobody leads",
            WireEnvelope(requestID: 5, message: .managerStatusRequest(ManagerStatusRequest())), LeaderReply.Leader.nobody,
            .reply(
                .error(
                    ErrorMessage(
                        code: .notLeader,
                        message: "not the leader; no leader is elected yet (ManagerStatusRequest not done here)"
                    )
                )
            )
        ),
        (
            "an agent's inventory", WireEnvelope(message: .inventory(Inventory(hostID: "h", vms: []))), m2,
            .refuseAndClose(
                ErrorMessage(
                    code: .notLeader,
                    message: "not the leader; leader is m2 at 10.0.0.12:7700 (Inventory not done here)"
                )
            )
        ),
        (
            "a host power request, etcd unreachable", WireEnvelope(requestID: 6, message: .hostPowerRequest(.sleep("h"))), nil,
            .reply(
                .error(
                    ErrorMessage(
                        code: .notLeader,
                        message: "not the leader; who leads is unknown (etcd did not answer) (HostPowerRequest not done here)"
                    )
                )
            )
        ),
        ("an unsolicited heartbeat", WireEnvelope(message: .heartbeat(Heartbeat(sequence: 1, timestampMilliseconds: 0))), m2, .ignore),
        (
            "a response", WireEnvelope(flags: .response, requestID: 7, message: .leaderReply(LeaderReply(leader: m2))), m2,
            .ignore
        ),
        ("an unsolicited LeaderQuery (nothing to answer to)", WireEnvelope(message: .leaderQuery(LeaderQuery())), m2, .ignore),
    ]

    @Test(arguments: cases)
    func answers(name: String, envelope: WireEnvelope, leader: LeaderReply.Leader?, expected: StandbyAnswer) {
        #expect(StandbyAnswer.to(envelope, leader: leader) == expected, "\(name)")
    }

    @Test(arguments: [
        ("127.0.0.1:12410 m1", LeaderReply.Leader.elected(managerID: "m1", address: "127.0.0.1:12410")),
        ("[::1]:7700 manager one", .elected(managerID: "manager one", address: "[::1]:7700")),
        ("", .nobody),
        ("127.0.0.1:7700", .nobody),
        (" m1", .nobody),
    ])
    func whoLeadsFromTheElectionKey(value: String, expected: LeaderReply.Leader) {
        #expect(StandbyAnswer.leader(fromElectionValue: value) == expected)
        #expect(StandbyAnswer.leader(fromElectionValue: nil) == .nobody)
    }

    @Test func theLeaderNamesItselfToControlPeersAndAgents() async throws {
        let registry = HostRegistry(ringCapacity: 4, logger: Logger(label: "test"))
        let control = ControlSession(
            registry: registry,
            managerID: "m1",
            softwareVersion: "9",
            heartbeatTimeout: .seconds(5),
            startedAt: .now,
            logger: Logger(label: "test"),
            advertise: "10.0.0.11:7700"
        )
        #expect(
            await control.answer(.leaderQuery(LeaderQuery()), at: .now)
                == .leaderReply(LeaderReply(leader: .elected(managerID: "m1", address: "10.0.0.11:7700")))
        )
        let silent = ControlSession(
            registry: registry,
            managerID: "m1",
            softwareVersion: "9",
            heartbeatTimeout: .seconds(5),
            startedAt: .now,
            logger: Logger(label: "test")
        )
        guard case .commandResult(let result) = await silent.answer(.leaderQuery(LeaderQuery()), at: .now) else {
            Issue.record("expected a CommandResult")
            return
        }
        #expect(result.code == .unsupported)
    }
}
