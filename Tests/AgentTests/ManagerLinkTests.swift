import Foundation
import TestSupport
import Testing

/// The agent and a manager that is not there yet: the agent keeps sampling, keeps trying with backoff, and
/// joins as soon as the manager starts.
@Suite struct ManagerLinkTests {
    @Test func agentSamplesWhileManagerIsAwayAndJoinsWhenItStarts() async throws {
        let logs = try ProcessRunner.scratchDirectory(prefix: "torpor-manager-link")
        defer { try? FileManager.default.removeItem(at: logs) }
        let managerPort = try AgentUnderTest.freePort()
        let agent = try AgentUnderTest(
            arguments: [
                "--libvirt-uri", "test:///default", "--manager", "127.0.0.1:\(managerPort)", "--sample-interval",
                "500ms",
            ],
            logDirectory: logs
        )
        defer { Task { await agent.stop() } }

        // No manager: the link is not connected, but samples accumulate.
        let away = try #require(
            try await agent.waitForStatus(timeout: .seconds(15)) { status in
                status.manager?.state != "connected" && status.vms.first?.latest != nil
            }
        )
        #expect(away.status.manager?.address == "127.0.0.1:\(managerPort)")
        try await Task.sleep(for: .seconds(1))
        #expect(try await agent.samples("test").samples.samples.count >= 2)

        let manager = try BackgroundProcess(
            [
                try KVMLab.product("torpor-manager"), "--listen", "127.0.0.1:\(managerPort)", "--log", "stderr",
                "--database", logs.appendingPathComponent("manager.sqlite").path,
            ],
            stdout: logs.appendingPathComponent("manager.stdout"),
            stderr: logs.appendingPathComponent("manager.stderr")
        )
        let joined = try await agent.waitForStatus(timeout: .seconds(40)) { $0.manager?.state == "connected" }
        #expect(joined != nil, "agent log:\n\(agent.process.stderr)")
        // The manager saw the hello and the inventory.
        let sawJoin = await eventually {
            manager.stderr.contains("host joined") && manager.stderr.contains("inventory")
        }
        #expect(sawJoin, "manager log:\n\(manager.stderr)")
        #expect(await manager.terminate(grace: .seconds(10)) == 0)
        #expect(await agent.stop() == 0)
    }

    /// The agent samples every 200 ms but reports at the 2 s interval the manager's Welcome assigned.
    @Test func agentReportsAtTheIntervalTheManagerAssigned() async throws {
        let logs = try ProcessRunner.scratchDirectory(prefix: "torpor-report-interval")
        defer { try? FileManager.default.removeItem(at: logs) }
        try await FakeManager.run(reportInterval: .seconds(2)) { manager in
            let agent = try AgentUnderTest(
                arguments: [
                    "--libvirt-uri", "test:///default", "--manager", "127.0.0.1:\(manager.port)", "--sample-interval",
                    "200ms",
                ],
                logDirectory: logs
            )
            let reporting = await manager.waitFor(timeout: .seconds(90)) { $0.reports.count >= 2 }
            #expect(reporting, "agent log:\n\(agent.process.stderr)")
            // Counted by the reports' own times, so a test process that is slow to read them does not bunch them.
            let from = Int64(Date().timeIntervalSince1970 * 1000)
            try await Task.sleep(for: .seconds(8))
            try await Task.sleep(for: .seconds(2))
            let window = manager.reports.filter { $0 >= from && $0 < from + 8_000 }.count
            #expect(await agent.stop() == 0)
            // About 4 at one per 2 s; one per round would be about 40.
            #expect((1...8).contains(window), "\(window) reports in 8 s")
        }
    }

    func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<50 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return condition()
    }
}
