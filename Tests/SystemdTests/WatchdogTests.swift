import Systemd
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension SystemdSuite {
    /// runWatchdog against a real datagram socket, with real (short) intervals.
    @Suite(.enabled(if: OwnProcess.isChild, OwnProcess.reason)) struct WatchdogTests {
        let notifier = SystemdNotifier()

        @Test func pingsEveryIntervalUntilCancelled() async throws {
            let directory = try TemporaryDirectory("watchdog")
            defer { directory.remove() }
            let listener = try DatagramListener(path: directory.file("notify.sock"))
            let environment = EnvironmentOverride(["NOTIFY_SOCKET": listener.path])
            defer { environment.restore() }

            let notifier = self.notifier
            let start = ContinuousClock.now
            let pinger = Task { try await notifier.runWatchdog(every: .milliseconds(20)) }
            for _ in 0..<4 {
                #expect(listener.receive() == "WATCHDOG=1")
            }
            // Four pings: one at once, then one after each of three intervals.
            #expect(ContinuousClock.now - start >= .milliseconds(60))
            pinger.cancel()
            // Cancellation ends the loop normally, as a service's run() should on shutdown.
            try await pinger.value
        }

        @Test func followsWatchdogUsec() async throws {
            let directory = try TemporaryDirectory("watchdog")
            defer { directory.remove() }
            let listener = try DatagramListener(path: directory.file("notify.sock"))
            let environment = EnvironmentOverride([
                "NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "60000", "WATCHDOG_PID": String(getpid()),
            ])
            defer { environment.restore() }

            let notifier = self.notifier
            let start = ContinuousClock.now
            let pinger = Task { try await notifier.runWatchdog() }
            #expect(listener.receive() == "WATCHDOG=1")
            #expect(listener.receive() == "WATCHDOG=1")
            // Half of WATCHDOG_USEC apart.
            #expect(ContinuousClock.now - start >= .milliseconds(30))
            pinger.cancel()
            try await pinger.value
        }

        @Test func withoutWatchdogWaitsQuietlyForCancellation() async throws {
            let directory = try TemporaryDirectory("watchdog")
            defer { directory.remove() }
            let listener = try DatagramListener(path: directory.file("notify.sock"))
            let environment = EnvironmentOverride([
                "NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": nil, "WATCHDOG_PID": nil,
            ])
            defer { environment.restore() }

            let notifier = self.notifier
            let waiter = Task { try await notifier.runWatchdog() }
            #expect(listener.receive(timeout: .milliseconds(200)) == nil)
            waiter.cancel()
            try await waiter.value
        }

        @Test func failedPingEndsTheLoopWithTheError() async throws {
            let directory = try TemporaryDirectory("watchdog")
            defer { directory.remove() }
            let environment = EnvironmentOverride(["NOTIFY_SOCKET": directory.file("nobody-listens.sock")])
            defer { environment.restore() }

            let notifier = self.notifier
            await #expect(throws: SystemdError(function: "sd_notify", errno: ENOENT)) {
                try await notifier.runWatchdog(every: .milliseconds(10))
            }
        }
    }
}
