import Foundation
import TestSupport
import Testing

/// The torpor-manager binary as systemd runs it: READY=1 once it listens, and on SIGTERM its services stop in
/// reverse order (STOPPING=1 first, the server last) and it exits 0.
@Suite struct ManagerLifecycleTests {
    @Test func readyThenStoppingThenTheServerLastAndExitZero() async throws {
        let port = try AgentUnderTest.freePort()
        let notify = try SocketActivationTests.NotifyReceiver()
        let directory = try ProcessRunner.scratchDirectory(prefix: "torpor-manager-lifecycle")
        defer { try? FileManager.default.removeItem(at: directory) }
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = notify.path
        let manager = try BackgroundProcess(
            [
                try KVMLab.product("torpor-manager"), "--listen", "127.0.0.1:\(port)",
                "--database", directory.appendingPathComponent("manager.sqlite").path, "--log", "stderr",
            ],
            stdout: directory.appendingPathComponent("stdout"),
            stderr: directory.appendingPathComponent("stderr"),
            environment: environment
        )
        let ready = await notify.receive(until: "READY=1", timeout: .seconds(30))
        #expect(ready.contains { $0.split(separator: "\n").contains("READY=1") }, "got \(ready)\n\(manager.stderr)")

        let exit = await manager.terminate(grace: .seconds(20))
        #expect(exit == 0, "\(manager.stderr)")
        let stopping = await notify.receive(until: "STOPPING=1", timeout: .seconds(5))
        #expect(stopping.contains { $0.contains("STOPPING=1") }, "got \(stopping)")
        let log = manager.stderr
        let announced = try #require(log.range(of: "manager stopping"), "\(log)")
        let closed = try #require(log.range(of: "stopped listening"), "\(log)")
        #expect(announced.lowerBound < closed.lowerBound, "\(log)")
    }

    @Test func aDatabaseItCannotOpenExitsOneNamingTheSetting() async throws {
        let port = try AgentUnderTest.freePort()
        let result = try await ProcessRunner.run(
            [
                try KVMLab.product("torpor-manager"), "--listen", "127.0.0.1:\(port)",
                "--database", "/nonexistent/directory/manager.sqlite", "--log", "stderr",
            ],
            timeout: .seconds(30)
        )
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.contains("torpor-manager: cannot open the state database (database): "), "\(result)")
    }
}
