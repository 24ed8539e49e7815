import Foundation
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
}
