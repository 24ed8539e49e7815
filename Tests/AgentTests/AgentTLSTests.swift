import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The real torpor-agent over mutual TLS, with certificates made by `torpor ca` and used by `agentctl`.
@Suite("Agent over TLS", .timeLimit(.minutes(5)))
struct AgentTLSTests {
    /// A scratch directory with a CA and certificates for host-1 (agent), alice (operator) and bob (viewer).
    struct Certificates {
        let directory: URL
        var path: String { directory.path }
        var ca: String { path + "/ca" }

        init() async throws {
            directory = try ProcessRunner.scratchDirectory(prefix: "torpor-agent-tls")
            try await torpor(["ca", "init", "--dir", ca])
            for (role, name) in [("agent", "host-1"), ("operator", "alice"), ("viewer", "bob"), ("manager", "manager-1")] {
                try await torpor(["ca", "issue", "--dir", ca, "--role", role, "--name", name, "--out", "\(path)/\(name)"])
            }
            // Expires within the CLIs' 30-day warning.
            try await torpor(["ca", "issue", "--dir", ca, "--role", "operator", "--name", "carol", "--days", "10", "--out", "\(path)/carol"])
        }

        @discardableResult
        func torpor(_ arguments: [String]) async throws -> ProcessOutput {
            let output = try await ProcessRunner.run([try KVMLab.product("torpor")] + arguments)
            guard output.succeeded else { throw ProcessRunnerError(description: "\(output)") }
            return output
        }

        func remove() { try? FileManager.default.removeItem(at: directory) }

        /// agent.yaml for host-1's certificate over TLS, speaking as `hostID`; power actions offered by none of
        /// the commands, so nothing can go down.
        func agentConfiguration(hostID: String = "host-1", manager: String? = nil) -> String {
            """
            host_id: \(hostID)
            hostname: \(hostID)
            \(manager.map { "manager: \($0)" } ?? "")
            power: { suspend_to_ram: [], suspend_to_disk: [], suspend_to_both: [], shutdown: [] }
            \(tlsSection("host-1"))
            """
        }

        func tlsSection(_ name: String) -> String {
            """
            tls:
              certificate: \(path)/\(name).pem
              key: \(path)/\(name)-key.pem
              ca: \(ca)/ca.pem
              crl: \(ca)/crl.pem

            """
        }

        var agentConfiguration: String { agentConfiguration() }

        func environment(as name: String?) -> [String: String] {
            var environment = ProcessInfo.processInfo.environment
            for key in ["NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID"] { environment[key] = nil }
            if let name {
                environment["TORPOR_CA"] = ca + "/ca.pem"
                environment["TORPOR_CERT"] = "\(path)/\(name).pem"
                environment["TORPOR_KEY"] = "\(path)/\(name)-key.pem"
            }
            return environment
        }

        /// agentctl as `name`, with its certificate in TORPOR_CA/TORPOR_CERT/TORPOR_KEY (or none: plaintext).
        func agentctl(_ agent: AgentUnderTest, as name: String?, _ arguments: [String]) async throws -> ProcessOutput {
            try await ProcessRunner.run(
                [try KVMLab.product("agentctl")] + arguments + ["--agent", agent.address, "--timeout", "20"],
                environment: environment(as: name),
                timeout: .seconds(30)
            )
        }
    }

    @Test("operator allowed, viewer refused a power action, plaintext refused; a revoked operator refused after SIGHUP")
    func rolesAndRevocation() async throws {
        let certificates = try await Certificates()
        defer { certificates.remove() }
        let agent = try AgentUnderTest(
            arguments: ["--libvirt-uri", "test:///default"],
            logDirectory: certificates.directory,
            configuration: certificates.agentConfiguration
        )
        defer { Task { await agent.stop() } }

        // The operator reads the agent's status, which shows the agent's certificate.
        var status: ProcessOutput?
        for _ in 0..<60 {
            status = try await certificates.agentctl(agent, as: "alice", ["status"])
            if status?.succeeded == true || !agent.process.isRunning { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        let text = try #require(status)
        #expect(text.succeeded, "\(text)\n\(agent.process.stderr)")
        #expect(text.stdout.contains("certificate: agent/host-1 (serial "), "\(text)")
        #expect(text.stdout.contains("expires "), "\(text)")
        let json = try await certificates.agentctl(agent, as: "bob", ["status", "--json"])
        #expect(json.succeeded, "\(json)")
        let certificate = (try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])?["certificate"]
        #expect((certificate as? [String: Any])?["role"] as? String == "agent")

        // A viewer may not order power; an operator may (the agent itself then refuses: no command configured).
        let viewer = try await certificates.agentctl(agent, as: "bob", ["power", "shutdown", "--force"])
        #expect(viewer.status == 1, "\(viewer)")
        #expect(viewer.stderr.contains("forbidden"), "\(viewer)")
        #expect(viewer.stderr.contains("a viewer certificate may not send PowerCommand shutdown"), "\(viewer)")
        let operatorPower = try await certificates.agentctl(agent, as: "alice", ["power", "shutdown", "--force"])
        #expect(!(operatorPower.stdout + operatorPower.stderr).contains("forbidden"), "\(operatorPower)")
        #expect((operatorPower.stdout + operatorPower.stderr).contains("power.shutdown is empty"), "\(operatorPower)")
        #expect(agent.process.stderr.contains("refused the peer"))
        #expect(agent.process.stderr.contains("viewer/bob (serial "))

        // A certificate about to expire works, with a warning line.
        let soon = try await certificates.agentctl(agent, as: "carol", ["status"])
        #expect(soon.succeeded, "\(soon)")
        #expect(soon.stderr.contains("warning: your certificate operator/carol (serial "), "\(soon)")
        #expect(soon.stderr.contains("(9 days)") || soon.stderr.contains("(10 days)"), "\(soon)")
        let shown = try await certificates.torpor(["ca", "show", "\(certificates.path)/carol.pem"])
        #expect(shown.stdout.hasPrefix("operator/carol (serial "), "\(shown)")

        // Plaintext to a TLS agent gets nowhere.
        let plaintext = try await certificates.agentctl(agent, as: nil, ["status"])
        #expect(!plaintext.succeeded, "\(plaintext)")

        // Revoked with torpor ca, cross-checked with openssl, refused once the agent rereads its CRL on SIGHUP.
        try await certificates.torpor(["ca", "revoke", "--dir", certificates.ca, "--cert", "\(certificates.path)/alice.pem"])
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") {
            let verify = try await ProcessRunner.run([
                "/usr/bin/openssl", "verify", "-crl_check", "-CAfile", certificates.ca + "/ca.pem", "-CRLfile",
                certificates.ca + "/crl.pem", "\(certificates.path)/alice.pem",
            ])
            #expect(verify.stdout.contains("certificate revoked") || verify.stderr.contains("certificate revoked"), "\(verify)")
        }
        #expect(try await certificates.agentctl(agent, as: "alice", ["status"]).succeeded, "revoked before any SIGHUP")
        kill(agent.process.pid, SIGHUP)
        var refused: ProcessOutput?
        for _ in 0..<40 {
            let attempt = try await certificates.agentctl(agent, as: "alice", ["status"])
            if !attempt.succeeded {
                refused = attempt
                break
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        let revoked = try #require(refused, "alice was still admitted after SIGHUP:\n\(agent.process.stderr)")
        #expect(revoked.stderr.contains("untrusted") && revoked.stderr.contains("revoked"), "\(revoked)")
        #expect(agent.process.stderr.contains("reloaded the revocation list"))
        #expect(agent.process.isRunning, "SIGHUP must not stop the agent")
        #expect(try await certificates.agentctl(agent, as: "bob", ["status"]).succeeded)
        #expect(await agent.stop() == 0)
    }

    @Test("manager over TLS: its agent joins; a viewer reads but may not destroy; another host's id is refused")
    func managerRoles() async throws {
        let certificates = try await Certificates()
        defer { certificates.remove() }
        let (manager, address) = try LargeListsEndToEndTests.startManager(
            certificates.directory,
            settings: "manager_id: manager-1\n" + certificates.tlsSection("manager-1")
        )
        defer { manager.kill() }
        let agent = try AgentUnderTest(
            arguments: ["--libvirt-uri", "test:///default"],
            logDirectory: certificates.directory,
            configuration: certificates.agentConfiguration(manager: address)
        )
        defer { Task { await agent.stop() } }
        func torpor(_ name: String?, _ arguments: [String]) async throws -> ProcessOutput {
            try await ProcessRunner.run(
                [try KVMLab.product("torpor")] + arguments + ["--manager", address, "--timeout", "20"],
                environment: certificates.environment(as: name),
                timeout: .seconds(60)
            )
        }
        let joined = await LargeListsEndToEndTests.eventually(timeout: .seconds(60)) {
            let hosts = try await torpor("bob", ["hosts", "--json"])
            return hosts.succeeded && hosts.stdout.contains("host-1")
        }
        #expect(joined, "host-1 did not join over TLS:\n\(agent.process.stderr)\n\(manager.stderr)")

        let define = try await torpor("bob", ["vc", "define", "c1"])
        #expect(define.status == 1, "\(define)")
        #expect(define.stderr.contains("a viewer certificate may not send ClusterRequest define c1"), "\(define)")
        #expect(try await torpor("alice", ["vc", "define", "c1"]).succeeded)
        let destroy = try await torpor("bob", ["vc", "destroy", "c1"])
        #expect(destroy.stderr.contains("forbidden"), "\(destroy)")
        #expect(manager.stderr.contains("viewer/bob (serial "), "the refusal was not logged with the certificate")
        #expect(try await torpor("bob", ["vc", "list"]).succeeded)
        let agentCertificate = try await torpor("host-1", ["hosts"])
        #expect(agentCertificate.stderr.contains("untrusted"), "\(agentCertificate)")

        // host-1's certificate configured as host-2: the manager refuses the Hello.
        let impostor = try AgentUnderTest(
            arguments: ["--libvirt-uri", "test:///default"],
            logDirectory: certificates.directory,
            label: "impostor",
            configuration: certificates.agentConfiguration(hostID: "host-2", manager: address)
        )
        defer { Task { await impostor.stop() } }
        let refused = await LargeListsEndToEndTests.eventually(timeout: .seconds(30)) {
            manager.stderr.contains("the agent certificate for host 'host-1' may not connect as host 'host-2'")
        }
        #expect(refused, "\(manager.stderr)")
        let hosts = try await torpor("alice", ["hosts", "--json"])
        #expect(!hosts.stdout.contains("host-2"), "\(hosts)")
    }

    /// Starts an agent expected to refuse to start; returns its standard error.
    static func refusedStart(_ configuration: String, in directory: URL, arguments: [String] = []) async throws -> String {
        let agent = try AgentUnderTest(
            arguments: ["--libvirt-uri", "test:///default"] + arguments,
            logDirectory: directory,
            label: "refused-\(UUID().uuidString.prefix(8))",
            configuration: configuration
        )
        for _ in 0..<120 where agent.process.isRunning {
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(!agent.process.isRunning, "the agent started: \(agent.process.stderr)")
        if agent.process.isRunning { await agent.stop() }
        #expect(agent.process.exitStatus != 0)
        return agent.process.stderr
    }

    @Test("plaintext is refused on a non-loopback address, naming the setting")
    func plaintextNeedsLoopback() async throws {
        let directory = try ProcessRunner.scratchDirectory(prefix: "torpor-agent-plaintext")
        defer { try? FileManager.default.removeItem(at: directory) }
        // The manager address is never dialled: the agent refuses before it connects anywhere.
        let implicit = try await Self.refusedStart("manager: 192.0.2.1:7700\n", in: directory)
        #expect(implicit.contains("tls.allow_plaintext"), "\(implicit)")
        #expect(implicit.contains("manager is 192.0.2.1"), "\(implicit)")
        let explicit = try await Self.refusedStart(
            "manager: 192.0.2.1:7700\ntls: { allow_plaintext: true }\n", in: directory)
        #expect(explicit.contains("plaintext is allowed only on loopback addresses, but manager is 192.0.2.1"), "\(explicit)")
        let listen = try await Self.refusedStart(
            "tls: { allow_plaintext: true }\n", in: directory, arguments: ["--listen", "0.0.0.0:0"])
        #expect(listen.contains("listen is 0.0.0.0"), "\(listen)")
    }

    @Test("a world-readable key is refused at start, naming the file")
    func worldReadableKey() async throws {
        let certificates = try await Certificates()
        defer { certificates.remove() }
        let key = "\(certificates.path)/host-1-key.pem"
        chmod(key, 0o644)
        let stderr = try await Self.refusedStart(certificates.agentConfiguration, in: certificates.directory)
        #expect(stderr.contains("\(key) holds a secret but its mode 644 lets every user read it"), "\(stderr)")
    }
}
