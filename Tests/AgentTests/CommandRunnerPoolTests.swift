import Commands
import Foundation
import Logging
import Manager
import Testing
import Wire

/// Slow programs must not hold threads of Swift's cooperative pool: with more of them running than the machine has
/// cores, a heartbeat-driven state change (the manager's expiry marking a silent host FAILED) still happens on time.
@Suite struct CommandRunnerPoolTests {
    @Test func slowCommandsLeaveHeartbeatExpiryOnTime() async throws {
        let registry = HostRegistry(ringCapacity: 4, logger: Logger(label: "test"))
        let started = ContinuousClock.now
        await registry.join(
            AgentDescription(
                hostID: "silent",
                hostname: "silent.lab",
                capabilities: [.vmLifecycle],
                capacity: HostCapacity(cores: 1, memoryBytes: 1 << 30, nicRxBytesPerSecond: 1, nicTxBytesPerSecond: 1),
                wake: WakeSettings(),
                listenAddress: "127.0.0.1:7701"
            ),
            at: started
        )
        let commands = max(8, 4 * ProcessInfo.processInfo.activeProcessorCount)
        let failedAfter = try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<commands {
                group.addTask { _ = try? await CommandRunner.run(["sleep", "150"], timeout: .seconds(200)) }
            }
            // The manager's expiry loop: a host silent for more than a second is FAILED.
            var failedAfter: Duration?
            while failedAfter == nil, ContinuousClock.now - started < .seconds(120) {
                try await Task.sleep(for: .milliseconds(100))
                if !(await registry.expire(timeout: .seconds(1), at: .now)).isEmpty {
                    failedAfter = ContinuousClock.now - started
                }
            }
            group.cancelAll()
            return failedAfter
        }
        // Expected after about one second; a starved pool gets there only when the 150 s programs end. The bound is
        // generous for a test process sharing 2 loaded cores with hundreds of other tests.
        let after = try #require(failedAfter)
        #expect(after < .seconds(90), "the silent host was marked FAILED only after \(after)")
        #expect(await registry.host("silent")?.state == .failed)
    }

    /// Cancelling a run stops its program (and the programs it started) instead of leaving them behind.
    @Test func cancellingStopsTheProgram() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("torpor-cancel-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let pidFile = directory.appendingPathComponent("pid").path
        let started = ContinuousClock.now
        let run = Task {
            try await CommandRunner.run(["sh", "-c", "sleep 300 & echo $! > \(pidFile); wait"], timeout: .seconds(400))
        }
        var grandchild: pid_t?
        while grandchild == nil, ContinuousClock.now - started < .seconds(120) {
            try await Task.sleep(for: .milliseconds(50))
            grandchild = (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap {
                pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines))
            }
        }
        let pid = try #require(grandchild)
        run.cancel()
        _ = try? await run.value
        var alive = true
        while alive, ContinuousClock.now - started < .seconds(150) {
            alive = kill(pid, 0) == 0 && !Self.isZombie(pid)
            if alive { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(!alive, "the program's child \(pid) outlived the cancelled run")
    }

    static func isZombie(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
        return stat.split(separator: ")").last?.split(separator: " ").first == "Z"
    }
}
