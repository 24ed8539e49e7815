import Systemd
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension SystemdSuite {
    /// sd_notify against a real datagram socket standing in for systemd's notify socket.
    @Suite(.enabled(if: OwnProcess.isChild, OwnProcess.reason)) struct SystemdNotifierTests {
        let notifier = SystemdNotifier()

        @Test func sendsReadyStoppingWatchdogAndStatus() throws {
            let directory = try TemporaryDirectory("notify")
            defer { directory.remove() }
            let listener = try DatagramListener(path: directory.file("notify.sock"))
            let environment = EnvironmentOverride(["NOTIFY_SOCKET": listener.path])
            defer { environment.restore() }

            #expect(self.notifier.isEnabled)
            #expect(try self.notifier.ready())
            #expect(listener.receive() == "READY=1")
            #expect(try self.notifier.watchdog())
            #expect(listener.receive() == "WATCHDOG=1")
            #expect(try self.notifier.status("migrating web-1\nto host-2"))
            #expect(listener.receive() == "STATUS=migrating web-1 to host-2")
            #expect(try self.notifier.stopping())
            #expect(listener.receive() == "STOPPING=1")
            #expect(try self.notifier.notify("READY=1\nSTATUS=serving"))
            #expect(listener.receive() == "READY=1\nSTATUS=serving")
        }

        @Test func withoutNotifySocketNothingIsSent() throws {
            let environment = EnvironmentOverride(["NOTIFY_SOCKET": nil])
            defer { environment.restore() }

            #expect(!self.notifier.isEnabled)
            #expect(try !self.notifier.ready())
            #expect(try !self.notifier.watchdog())
        }

        @Test func unreachableNotifySocketThrows() throws {
            let directory = try TemporaryDirectory("notify")
            defer { directory.remove() }
            let environment = EnvironmentOverride(["NOTIFY_SOCKET": directory.file("nobody-listens.sock")])
            defer { environment.restore() }

            #expect(throws: SystemdError(function: "sd_notify", errno: ENOENT)) {
                try self.notifier.ready()
            }
        }

        @Test func watchdogIntervalIsHalfOfWatchdogUsec() throws {
            let environment = EnvironmentOverride(["WATCHDOG_USEC": "2000000", "WATCHDOG_PID": String(getpid())])
            defer { environment.restore() }
            #expect(try self.notifier.watchdogInterval == .seconds(1))

            // WATCHDOG_PID is optional.
            let withoutPID = EnvironmentOverride(["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": nil])
            defer { withoutPID.restore() }
            #expect(try self.notifier.watchdogInterval == .seconds(15))
        }

        @Test func noWatchdogWhenUnsetOrMeantForAnotherPid() throws {
            let unset = EnvironmentOverride(["WATCHDOG_USEC": nil, "WATCHDOG_PID": nil])
            defer { unset.restore() }
            #expect(try self.notifier.watchdogInterval == nil)

            let otherProcess = EnvironmentOverride(["WATCHDOG_USEC": "2000000", "WATCHDOG_PID": String(getpid() + 1)])
            defer { otherProcess.restore() }
            #expect(try self.notifier.watchdogInterval == nil)
        }

        @Test func malformedWatchdogUsecThrows() throws {
            let environment = EnvironmentOverride(["WATCHDOG_USEC": "soon", "WATCHDOG_PID": nil])
            defer { environment.restore() }

            #expect(throws: SystemdError(function: "sd_watchdog_enabled", errno: EINVAL)) {
                try self.notifier.watchdogInterval
            }
        }
    }
}
