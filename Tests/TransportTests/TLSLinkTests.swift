import Foundation
import Logging
import TestSupport
import Testing
import Transport
import Trust
import Wire

/// A cluster CA in a temporary directory (made with the library behind `torpor ca`) and WireTLS for its holders.
final class TestCA: Sendable {
    let directory: String
    let authority: ClusterAuthority

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("torpor-tls-\(UUID().uuidString)").path
        authority = try ClusterAuthority.create(in: directory + "/ca")
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// Issues `role`/`name` from this CA (or `from` another) and loads it as WireTLS trusting this CA.
    func tls(
        _ role: CertificateRole,
        _ name: String,
        from issuer: ClusterAuthority? = nil,
        validity: Duration = .seconds(86_400),
        notBefore: Date = Date().addingTimeInterval(-300)
    ) throws -> (WireTLS, CertificateIdentity) {
        let issued = try (issuer ?? authority).issue(role: role, name: name, validity: validity, notBefore: notBefore)
        let prefix = "\(directory)/\(role)-\(name)-\(UUID().uuidString)"
        try issued.certificatePEM.write(toFile: prefix + ".pem", atomically: true, encoding: .utf8)
        try SecretFile.create(prefix + "-key.pem", contents: Data(issued.keyPEM.utf8))
        let tls = try WireTLS.load(
            certificatePath: prefix + ".pem",
            keyPath: prefix + "-key.pem",
            caBundlePath: authority.certificatePath,
            revocationListPath: authority.revocationListPath
        )
        return (tls, issued.identity)
    }
}

func agentHello(_ hostID: String) -> Hello {
    Hello(
        role: .agent,
        softwareVersion: "0.0.0-test",
        nodeName: hostID,
        agent: AgentDescription(
            hostID: hostID,
            hostname: hostID,
            capabilities: [.vmLifecycle],
            capacity: HostCapacity(cores: 4, memoryBytes: 8 << 30, nicRxBytesPerSecond: 1, nicTxBytesPerSecond: 1),
            wake: WakeSettings(),
            listenAddress: "127.0.0.1:1"
        )
    )
}

/// The Hello each certificate role connects with.
func hello(for role: CertificateRole, name: String) -> Hello {
    switch role {
    case .agent: agentHello(name)
    case .manager: Hello(role: .manager, softwareVersion: "0.0.0-test", nodeName: name)
    case .operator, .viewer: makeHello(node: name)
    }
}

/// A TLS server (an agent's certificate unless `serverRole` says otherwise) that answers every request with a
/// heartbeat and records what reached its handler.
@discardableResult
func withTLSServer<Result: Sendable>(
    _ ca: TestCA,
    serverRole: CertificateRole = .agent,
    welcomeRole: PeerRole = .agent,
    logs: CapturedLogs = CapturedLogs(),
    reached: Reached = Reached(),
    _ body: (WireServer) async throws -> Result
) async throws -> Result {
    let (tls, _) = try ca.tls(serverRole, "server-1")
    let server = try await WireServer.bind(
        host: "127.0.0.1",
        port: 0,
        security: .tls(tls),
        logger: logs.logger,
        welcome: { _, version in
            Welcome(version: version, role: welcomeRole, softwareVersion: "0.0.0-test", nodeName: "server-1")
        },
        handler: { connection in
            reached.add(connection.peer.certificate)
            for try await envelope in connection.inbound {
                reached.add(envelope.message.type)
                if envelope.requestID != 0 {
                    try await connection.reply(
                        to: envelope.requestID,
                        with: .heartbeat(Heartbeat(sequence: 1, timestampMilliseconds: 0))
                    )
                }
            }
        }
    )
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run() }
        defer { group.cancelAll() }
        return try await body(server)
    }
}

/// What reached the server's connection handler.
final class Reached: Sendable {
    private let state = LockedBox<(certificates: [CertificateIdentity?], types: [WireMessageType])>(([], []))
    func add(_ certificate: CertificateIdentity?) { state.with { $0.certificates.append(certificate) } }
    func add(_ type: WireMessageType) { state.with { $0.types.append(type) } }
    var certificates: [CertificateIdentity?] { state.with { $0.certificates } }
    var types: [WireMessageType] { state.with { $0.types } }
}

final class LockedBox<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func with<R>(_ body: (inout Value) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}

func tlsClient(_ tls: WireTLS, hello: Hello) -> WireClient {
    WireClient(hello: hello, connectTimeout: .seconds(10), security: .tls(tls), logger: testLogger)
}

@Suite("TLS links", .timeLimit(.minutes(3)))
struct TLSLinkTests {
    @Test("mutual TLS: both sides see the other's certificate role and name")
    func bothSidesSeeCertificates() async throws {
        let ca = try TestCA()
        let reached = Reached()
        let (tls, identity) = try ca.tls(.operator, "alice")
        try await withTLSServer(ca, reached: reached) { server in
            let connection = try await tlsClient(tls, hello: makeHello(node: "alice")).connect(
                host: "127.0.0.1", port: server.port!)
            #expect(connection.peer.certificate?.role == .agent)
            #expect(connection.peer.certificate?.name == "server-1")
            _ = try await connection.request(.statusRequest(StatusRequest()), timeout: .seconds(20))
            await connection.close()
        }
        #expect(reached.certificates == [identity])
        #expect(reached.types == [.statusRequest])
    }

    /// One request per role and message over a real TLS connection; the expected outcome is spelled out here,
    /// independently of WireAuthorization's table.
    static let requests: [(WireMessage, allowed: Set<CertificateRole>)] = [
        (.powerCommand(PowerCommand(action: .shutdown)), [.operator, .manager]),
        (.vmCommand(.destroy(name: "vm-1")), [.operator, .manager]),
        (.statusRequest(StatusRequest()), [.operator, .viewer, .manager]),
        (.samplesRequest(SamplesRequest(vmName: "vm-1")), [.operator, .viewer, .manager]),
        (.clusterRequest(.act(.destroy, cluster: "vc", vm: "vm-1")), [.operator, .manager]),
        (.clusterRequest(.undefine(cluster: "vc")), [.operator, .manager]),
        (.clusterRequest(.list), [.operator, .viewer, .manager]),
        (.clusterRequest(.consolidate(dryRun: true)), [.operator, .viewer, .manager]),
        (.clusterRequest(.consolidate(dryRun: false)), [.operator, .manager]),
        (.hostPowerRequest(.sleep("host-1")), [.operator, .manager]),
        (.energyRequest(EnergyRequest()), [.operator, .viewer, .manager]),
        (.managerStatusRequest(ManagerStatusRequest()), [.operator, .viewer, .manager]),
    ]

    @Test("each role is allowed or refused per message type, with a forbidden Error frame and a log line", arguments: CertificateRole.allCases)
    func rolesPerMessage(role: CertificateRole) async throws {
        let ca = try TestCA()
        let logs = CapturedLogs()
        let (tls, identity) = try ca.tls(role, role == .agent ? "host-1" : "someone")
        try await withTLSServer(ca, logs: logs) { server in
            let connection = try await tlsClient(tls, hello: hello(for: role, name: identity.name)).connect(
                host: "127.0.0.1", port: server.port!)
            for (message, allowed) in Self.requests {
                do {
                    _ = try await connection.request(message, timeout: .seconds(20))
                    #expect(allowed.contains(role), "\(role) was allowed \(message.type)")
                } catch TransportError.peerError(let code, let text) {
                    #expect(!allowed.contains(role), "\(role) was refused \(message.type): \(text)")
                    #expect(code == .forbidden)
                    #expect(text.contains("a \(role) certificate may not send"), "\(text)")
                }
            }
            await connection.close()
        }
        let refusals = logs.matching("refused the peer")
        #expect(refusals.count == Self.requests.filter { !$0.allowed.contains(role) }.count)
        for line in refusals {
            #expect(line.metadata["torpor.peer_certificate"] == "\(identity)")
            #expect(line.metadata["torpor.tried"].map { "\($0)".hasPrefix("send ") } == true)
        }
    }

    @Test("an agent certificate may connect only as its own host, and send only its own host's Inventory")
    func agentSpeaksOnlyForItsHost() async throws {
        let ca = try TestCA()
        let logs = CapturedLogs()
        let reached = Reached()
        let (tls, identity) = try ca.tls(.agent, "host-1")
        try await withTLSServer(ca, serverRole: .manager, welcomeRole: .manager, logs: logs, reached: reached) { server in
            await #expect(throws: TransportError.peerError(
                code: .untrusted,
                message: "the agent certificate for host 'host-1' may not connect as host 'host-2'"
            )) {
                _ = try await tlsClient(tls, hello: agentHello("host-2")).connect(host: "127.0.0.1", port: server.port!)
            }
            let line = try #require(await logs.waitFor("refused the peer"))
            #expect(line.metadata["torpor.peer_certificate"] == "\(identity)")

            let connection = try await tlsClient(tls, hello: agentHello("host-1")).connect(
                host: "127.0.0.1", port: server.port!)
            try await connection.send(.inventory(Inventory(hostID: "host-1", vms: [])))
            try await connection.send(.inventory(Inventory(hostID: "host-2", vms: [])))
            await connection.waitUntilClosed()
            // The first Inventory is the handler's to record; the second never reaches it.
            let deadline = ContinuousClock.now + .seconds(20)
            while reached.types.isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(reached.types == [.inventory])
        #expect(!logs.matching("refused the peer").filter { "\($0.metadata)".contains("host 'host-2''s Inventory") }.isEmpty)
    }

    @Test("an expired certificate, and one from another CA, are refused with the reason")
    func expiredAndUntrustedRefused() async throws {
        let ca = try TestCA()
        let other = try ClusterAuthority.create(in: ca.directory + "/other")
        let (expired, _) = try ca.tls(
            .operator, "old", validity: .seconds(60), notBefore: Date().addingTimeInterval(-3600))
        let (foreign, _) = try ca.tls(.operator, "mallory", from: other)
        try await withTLSServer(ca) { server in
            for (tls, reason) in [(expired, "expired on"), (foreign, "not issued by this cluster's CA")] {
                do {
                    _ = try await tlsClient(tls, hello: makeHello()).connect(host: "127.0.0.1", port: server.port!)
                    Issue.record("connected with a certificate that should be refused (\(reason))")
                } catch TransportError.peerError(let code, let message) {
                    #expect(code == .untrusted)
                    #expect(message.contains(reason), "\(message)")
                }
            }
        }
    }

    @Test("a revoked certificate is refused once the revocation list is reloaded; its open connection closes")
    func revokedAfterReload() async throws {
        let ca = try TestCA()
        let (serverTLS, _) = try ca.tls(.agent, "server-1")
        let (tls, identity) = try ca.tls(.operator, "alice")
        let server = try await WireServer.bind(
            host: "127.0.0.1", port: 0, security: .tls(serverTLS), logger: testLogger,
            welcome: welcoming(as: "server-1"),
            handler: { connection in
                for try await envelope in connection.inbound where envelope.requestID != 0 {
                    try await connection.reply(to: envelope.requestID, with: .heartbeat(Heartbeat(sequence: 1, timestampMilliseconds: 0)))
                }
            }
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            defer { group.cancelAll() }
            let client = tlsClient(tls, hello: makeHello())
            let open = try await client.connect(host: "127.0.0.1", port: server.port!)
            _ = try await open.request(.statusRequest(StatusRequest()), timeout: .seconds(20))

            try ca.authority.revoke(serial: identity.serial)
            // Not yet reloaded: still trusted.
            let before = try await client.connect(host: "127.0.0.1", port: server.port!)
            await before.close()
            #expect(try serverTLS.trust.reloadRevocations() == 1)

            do {
                _ = try await client.connect(host: "127.0.0.1", port: server.port!)
                Issue.record("a revoked certificate connected")
            } catch TransportError.peerError(let code, let message) {
                #expect(code == .untrusted)
                #expect(message.contains("revoked"), "\(message)")
                #expect(message.contains(identity.serial), "\(message)")
            }
            await #expect(throws: TransportError.self) {
                _ = try await open.request(.statusRequest(StatusRequest()), timeout: .seconds(20))
            }
        }
    }

    @Test("the dialler refuses a server whose certificate is another CA's or does not match its Welcome")
    func diallerRefusesServer() async throws {
        let ca = try TestCA()
        let (tls, _) = try ca.tls(.operator, "alice")
        // The server's certificate is a viewer's, but it says it is an agent.
        try await withTLSServer(ca, serverRole: .viewer, welcomeRole: .agent) { server in
            do {
                _ = try await tlsClient(tls, hello: makeHello()).connect(host: "127.0.0.1", port: server.port!)
                Issue.record("accepted a viewer certificate as an agent")
            } catch TransportError.tlsFailed(let reason) {
                #expect(reason.contains("says it is agent but its certificate is viewer/server-1"), "\(reason)")
            }
        }
        let other = try ClusterAuthority.create(in: ca.directory + "/other")
        let (foreign, _) = try ca.tls(.operator, "alice", from: other)
        // A client that trusts only the other CA: the server's certificate is not from it.
        let otherBundle = ca.directory + "/other/ca.pem"
        let misled = try WireTLS.load(
            certificatePath: foreign.certificatePath,
            keyPath: foreign.certificatePath.replacingOccurrences(of: ".pem", with: "-key.pem"),
            caBundlePath: otherBundle
        )
        try await withTLSServer(ca) { server in
            do {
                _ = try await tlsClient(misled, hello: makeHello()).connect(host: "127.0.0.1", port: server.port!)
                Issue.record("accepted a server from another CA")
            } catch TransportError.tlsFailed(let reason) {
                #expect(reason.contains("not issued by this cluster's CA"), "\(reason)")
            }
        }
    }

    @Test("a plaintext dialler cannot talk to a TLS server")
    func plaintextClientRefused() async throws {
        let ca = try TestCA()
        let reached = Reached()
        try await withTLSServer(ca, reached: reached) { server in
            await #expect(throws: TransportError.self) {
                _ = try await makeClient().connect(host: "127.0.0.1", port: server.port!)
            }
        }
        #expect(reached.certificates.isEmpty)
    }

    @Test("a world-readable private key is refused, naming the file")
    func worldReadableKeyRefused() throws {
        let ca = try TestCA()
        _ = try ca.authority.issue(role: .agent, name: "host-1", writingTo: ca.directory + "/host-1")
        chmod(ca.directory + "/host-1-key.pem", 0o644)
        #expect(throws: TrustError.secretFileTooOpen(path: ca.directory + "/host-1-key.pem", mode: "644")) {
            try WireTLS.load(
                certificatePath: ca.directory + "/host-1.pem",
                keyPath: ca.directory + "/host-1-key.pem",
                caBundlePath: ca.authority.certificatePath
            )
        }
    }
}
