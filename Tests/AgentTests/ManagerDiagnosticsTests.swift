import Foundation
import TestSupport
import Testing

/// End to end with the real binaries: torpor-manager, torpor-agent on libvirt's test driver, and
/// `agentctl manager --json` watching the agent connect, report, die, and be declared FAILED.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct ManagerDiagnosticsTests {
    /// `agentctl manager --json`, the parts the test reads.
    struct Diagnostics: Decodable {
        struct Host: Decodable {
            struct Ring: Decodable {
                var fill: Int
                var capacity: Int
            }
            var hostId: String
            var state: String
            var connected: Bool
            var millisecondsSinceHeartbeat: Int
            var millisecondsSinceReport: Int?
            var ring: Ring
        }
        struct Manager: Decodable {
            var managerId: String
            var heartbeatTimeoutMilliseconds: Int
        }
        var manager: Manager
        var hosts: [Host]
    }

    static func diagnostics(_ address: String) async throws -> (Diagnostics, String) {
        let output = try await ProcessRunner.run(
            [try KVMLab.product("agentctl"), "manager", "--manager", address, "--json", "--timeout", "30"],
            timeout: .seconds(20)
        )
        guard output.succeeded else { throw ProcessRunnerError(description: output.description) }
        return (try JSONDecoder().decode(Diagnostics.self, from: Data(output.stdout.utf8)), output.stdout)
    }

    /// Polls every 300 ms until `condition` holds for host `id`; the last output (or error) otherwise.
    static func waitFor(
        _ address: String,
        host id: String,
        timeout: Duration,
        manager: BackgroundProcess,
        until condition: (Diagnostics.Host) -> Bool
    ) async throws -> (host: Diagnostics.Host?, json: String) {
        let deadline = ContinuousClock.now + timeout
        var last: (Diagnostics.Host?, String) = (nil, "(no answer)")
        repeat {
            guard manager.isRunning else {
                throw ProcessRunnerError(description: "torpor-manager exited:\n\(manager.stderr)")
            }
            do {
                let (diagnostics, json) = try await diagnostics(address)
                let host = diagnostics.hosts.first { $0.hostId == id }
                if let host, condition(host) { return (host, json) }
                last = (host, json)
            } catch {
                last = (nil, "\(error)")
            }
            try await Task.sleep(for: .milliseconds(300))
        } while ContinuousClock.now < deadline
        return last
    }

    @Test func agentctlSeesTheAgentReportThenFail() async throws {
        let directory = try ProcessRunner.scratchDirectory(prefix: "torpor-manager-diagnostics")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("manager.yaml")
        // Flags only: no /etc/torpor/manager.yaml on the machine changes the test.
        try "# torpor-manager end-to-end test: flags only\n".write(to: config, atomically: true, encoding: .utf8)
        let port = try AgentUnderTest.freePort()
        let address = "127.0.0.1:\(port)"
        let manager = try BackgroundProcess(
            [
                try KVMLab.product("torpor-manager"), "--config", config.path, "--listen", address,
                "--heartbeat-interval", "1s", "--heartbeat-timeout", "2s", "--log", "stderr",
                "--database", directory.appendingPathComponent("manager.sqlite").path,
            ],
            stdout: directory.appendingPathComponent("manager.stdout"),
            stderr: directory.appendingPathComponent("manager.stderr")
        )
        defer { manager.kill() }
        let agent = try AgentUnderTest(
            arguments: [
                "--libvirt-uri", "test:///default", "--manager", address, "--sample-interval", "1s",
                "--host-id", "diagnostics-e2e",
            ],
            logDirectory: directory
        )
        defer { agent.process.kill() }

        let (seen, json) = try await Self.waitFor(
            address,
            host: "diagnostics-e2e",
            timeout: .seconds(30),
            manager: manager
        ) {
            $0.connected && $0.state == "ACTIVE" && ($0.millisecondsSinceReport ?? .max) < 5000 && $0.ring.fill >= 1
        }
        let host = try #require(
            seen,
            "the agent never showed up:\n\(json)\n--- manager\n\(manager.stderr)\n--- agent\n\(agent.process.stderr)"
        )
        #expect(host.connected, "\(json)")
        #expect(host.state == "ACTIVE", "\(json)")
        #expect((host.millisecondsSinceReport ?? .max) < 5000, "\(json)")
        #expect(host.ring.fill >= 1 && host.ring.fill <= host.ring.capacity, "\(json)")
        #expect(host.millisecondsSinceHeartbeat < 5000, "\(json)")

        // Killed, not stopped: no goodbye, only silence.
        agent.process.kill()
        _ = await agent.process.waitForExit(timeout: .seconds(5))
        let (failed, failedJSON) = try await Self.waitFor(
            address,
            host: "diagnostics-e2e",
            timeout: .seconds(20),
            manager: manager
        ) { $0.state == "FAILED" && !$0.connected }
        let gone = try #require(failed, "the host vanished from the manager:\n\(failedJSON)")
        #expect(gone.state == "FAILED", "\(failedJSON)\n--- manager\n\(manager.stderr)")
        #expect(!gone.connected, "\(failedJSON)")
        #expect(gone.millisecondsSinceHeartbeat >= 2000, "\(failedJSON)")

        #expect(await manager.terminate(grace: .seconds(10)) == 0, "\(manager.stderr)")
    }
}
