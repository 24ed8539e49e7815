import Etcd
import Foundation
import Logging
import Testing
import Transport
import Trust
import Wire

@testable import Manager

/// A standby's listener keeps the trust settings the leader would use (docs/ha.md): mutual TLS with the cluster CA,
/// roles checked as on every Wire link. Its etcd is unreachable here (port 12499, nothing there), so it names nobody.
@Suite(.timeLimit(.minutes(5))) struct StandbyListenerTLSTests {
    @Test func aStandbyAnswersOnlyOverTheClustersTLSAndNamesNobodyWithoutEtcd() async throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("torpor-standby-tls-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let authority = try ClusterAuthority.create(in: directory + "/ca")
        func issue(_ role: CertificateRole, _ name: String) throws -> (certificate: String, key: String) {
            let issued = try authority.issue(role: role, name: name)
            let prefix = "\(directory)/\(role)-\(name)"
            try issued.certificatePEM.write(toFile: prefix + ".pem", atomically: true, encoding: .utf8)
            try SecretFile.create(prefix + "-key.pem", contents: Data(issued.keyPEM.utf8))
            return (prefix + ".pem", prefix + "-key.pem")
        }
        func security(_ role: CertificateRole, _ name: String) throws -> WireSecurity {
            let (certificate, key) = try issue(role, name)
            return .tls(
                try WireTLS.load(
                    certificatePath: certificate,
                    keyPath: key,
                    caBundlePath: authority.certificatePath,
                    revocationListPath: authority.revocationListPath
                )
            )
        }
        func connect(_ hello: Hello, _ security: WireSecurity, port: Int) async throws -> WireConnection {
            try await WireClient(hello: hello, connectTimeout: .seconds(30), security: security, logger: Logger(label: "test"))
                .connect(host: "127.0.0.1", port: port)
        }
        let managerFiles = try issue(.manager, "m2")
        let configuration = try ManagerConfiguration.load(
            yaml: """
                manager_id: m2
                listen: 127.0.0.1:0
                tls: { certificate: "\(managerFiles.certificate)", key: "\(managerFiles.key)", ca: "\(authority.certificatePath)" }
                """,
            file: "manager.yaml"
        )
        let etcd = try EtcdClient(
            EtcdConfiguration(endpoints: ["http://127.0.0.1:12499"], requestTimeout: .milliseconds(500)),
            logger: Logger(label: "test")
        )
        let server = try await StandbyListener.bind(
            configuration: configuration,
            softwareVersion: "9",
            client: etcd,
            prefix: "/torpor/manager-leader",
            logger: Logger(label: "test")
        )
        let port = try #require(server.port)
        let running = Task { try await server.run() }

        // A viewer asks who leads: nobody can be named without etcd; anything else is refused, naming why.
        let control = Hello(role: .control, softwareVersion: "9", nodeName: "viewer")
        let viewer = try await connect(control, try security(.viewer, "viewer"), port: port)
        #expect(viewer.peer.nodeName == "m2")
        #expect(
            try await viewer.request(.leaderQuery(LeaderQuery()), timeout: .seconds(30))
                == .leaderReply(LeaderReply(leader: .nobody))
        )
        await #expect(
            throws: TransportError.peerError(
                code: .notLeader,
                message: "not the leader; who leads is unknown (etcd did not answer) (ManagerStatusRequest not done here)"
            )
        ) {
            _ = try await viewer.request(.managerStatusRequest(ManagerStatusRequest()), timeout: .seconds(30))
        }
        await viewer.close()

        // An agent may ask too, as the host its certificate names; an operator certificate may not speak as an agent.
        let agentHello = Hello(
            role: .agent,
            softwareVersion: "9",
            nodeName: "host-1",
            agent: AgentDescription(
                hostID: "host-1",
                hostname: "host-1",
                capabilities: [.vmLifecycle],
                capacity: HostCapacity(cores: 4, memoryBytes: 8 << 30, nicRxBytesPerSecond: 1, nicTxBytesPerSecond: 1),
                wake: WakeSettings(),
                listenAddress: "127.0.0.1:1"
            )
        )
        let agent = try await connect(agentHello, try security(.agent, "host-1"), port: port)
        #expect(
            try await agent.request(.leaderQuery(LeaderQuery()), timeout: .seconds(30))
                == .leaderReply(LeaderReply(leader: .nobody))
        )
        await agent.close()
        await #expect(throws: TransportError.self) {
            _ = try await connect(agentHello, try security(.operator, "alice"), port: port)
        }
        // Plaintext is refused: the standby is not an open door next to the leader's TLS.
        await #expect(throws: TransportError.self) { _ = try await connect(control, .plaintext, port: port) }

        running.cancel()
        _ = try? await running.value
        await etcd.shutdown()
    }
}
