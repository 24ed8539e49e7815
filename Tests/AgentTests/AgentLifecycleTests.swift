import Foundation
import TestSupport
import Testing

/// The torpor-agent binary as systemd runs it: READY=1 once it listens, and on SIGTERM its services stop in reverse
/// order (STOPPING=1 first, the server later) and it exits 0, leaving VMs alone.
@Suite struct AgentLifecycleTests {
    @Test func readyThenStoppingBeforeTheServerAndExitZero() async throws {
        let port = try AgentUnderTest.freePort()
        let notify = try SocketActivationTests.NotifyReceiver()
        let directory = try ProcessRunner.scratchDirectory(prefix: "torpor-agent-lifecycle")
        defer { try? FileManager.default.removeItem(at: directory) }
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = notify.path
        let agent = try BackgroundProcess(
            [
                try KVMLab.product("torpor-agent"), "--libvirt-uri", "test:///default", "--listen",
                "127.0.0.1:\(port)", "--log", "stderr",
            ],
            stdout: directory.appendingPathComponent("stdout"),
            stderr: directory.appendingPathComponent("stderr"),
            environment: environment
        )
        let ready = await notify.receive(until: "READY=1", timeout: .seconds(30))
        #expect(ready.contains { $0.split(separator: "\n").contains("READY=1") }, "got \(ready)\n\(agent.stderr)")
        // Still running a moment later: no service ending early (lifecycle events, say) took the group down.
        try await Task.sleep(for: .milliseconds(500))
        #expect(agent.exitStatus == nil, "\(agent.stderr)")

        let exit = await agent.terminate(grace: .seconds(20))
        #expect(exit == 0, "\(agent.stderr)")
        let stopping = await notify.receive(until: "STOPPING=1", timeout: .seconds(5))
        #expect(stopping.contains { $0.contains("STOPPING=1") }, "got \(stopping)")
        let log = agent.stderr
        let announced = try #require(log.range(of: "agent stopping; VMs are left running"), "\(log)")
        let closed = try #require(log.range(of: "stopped listening"), "\(log)")
        #expect(announced.lowerBound < closed.lowerBound, "\(log)")
    }

    /// `release_startup_pages_after`: once started, the agent gives back the pages it touched only while starting,
    /// says so with what was resident before and after, and keeps running.
    @Test func startUpPagesAreGivenBackOnceStarted() async throws {
        let port = try AgentUnderTest.freePort()
        let directory = try ProcessRunner.scratchDirectory(prefix: "torpor-agent-pages")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("agent.yaml")
        try """
        libvirt_uri: "test:///default"
        listen: 127.0.0.1:\(port)
        log: stderr
        release_startup_pages_after: 500ms
        """.write(to: config, atomically: true, encoding: .utf8)
        let agent = try BackgroundProcess(
            [try KVMLab.product("torpor-agent"), "--config", config.path],
            stdout: directory.appendingPathComponent("stdout"),
            stderr: directory.appendingPathComponent("stderr")
        )
        let deadline = ContinuousClock.now + .seconds(60)
        while !agent.stderr.contains("released start-up pages"), agent.exitStatus == nil, ContinuousClock.now < deadline
        {
            try await Task.sleep(for: .milliseconds(100))
        }
        let line = try #require(
            agent.stderr.split(separator: "\n").first { $0.contains("released start-up pages") },
            "\(agent.stderr)"
        )
        func value(_ key: String) -> Int? {
            line.split(separator: " ").first { $0.hasPrefix("torpor.\(key)=") }.flatMap {
                Int($0.dropFirst("torpor.\(key)=".count))
            }
        }
        let mappings = try #require(value("mappings"), "\(line)")
        let before = try #require(value("resident_file_kib_before"), "\(line)")
        let after = try #require(value("resident_file_kib_after"), "\(line)")
        #expect(mappings > 0)
        // Pages other processes map as well (other agents started by other tests, libvirt's libraries) stay.
        #expect(after <= before && before > 0, "\(line)")
        #expect(agent.exitStatus == nil, "\(agent.stderr)")
        #expect(await agent.terminate(grace: .seconds(20)) == 0, "\(agent.stderr)")
    }
}
