import CSystemd

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Tells the service manager about state changes through `NOTIFY_SOCKET` (sd_notify(3)).
///
/// Every call is a no-op returning `false` when `NOTIFY_SOCKET` is unset (not started by systemd, or
/// `Type=` is not `notify`). The environment is never unset, so the watchdog can keep pinging.
public struct SystemdNotifier: Sendable {
    public init() {}

    /// Whether a service manager listens: `NOTIFY_SOCKET` is set.
    public var isEnabled: Bool {
        getenv("NOTIFY_SOCKET") != nil
    }

    /// `READY=1`: start-up finished; systemd starts the units ordered after this one.
    @discardableResult
    public func ready() throws(SystemdError) -> Bool {
        try self.notify("READY=1")
    }

    /// `STOPPING=1`: shutdown began.
    @discardableResult
    public func stopping() throws(SystemdError) -> Bool {
        try self.notify("STOPPING=1")
    }

    /// `WATCHDOG=1`: the keep-alive ping for `WatchdogSec=`.
    @discardableResult
    public func watchdog() throws(SystemdError) -> Bool {
        try self.notify("WATCHDOG=1")
    }

    /// `STATUS=…`: the one-line status `systemctl status` shows.
    @discardableResult
    public func status(_ text: String) throws(SystemdError) -> Bool {
        // A newline would start a new assignment and a NUL would cut the C string.
        let line = String(text.map { $0.isNewline || $0 == "\0" ? " " : $0 })
        return try self.notify("STATUS=\(line)")
    }

    /// Sends newline-separated assignments as they are, e.g. `"READY=1\nSTATUS=serving"`.
    ///
    /// - Returns: `true` if sent, `false` if `NOTIFY_SOCKET` is unset.
    @discardableResult
    public func notify(_ state: String) throws(SystemdError) -> Bool {
        // sd_notifyf is variadic and cannot be called from Swift: the string is formatted here.
        try check(sd_notify(0, state), "sd_notify") > 0
    }

    /// How often to ping: half of `WATCHDOG_USEC`, as sd_watchdog_enabled(3) advises; `nil` when the
    /// watchdog is off or meant for another process (`WATCHDOG_PID`).
    public var watchdogInterval: Duration? {
        get throws(SystemdError) {
            var usec: UInt64 = 0
            guard try check(sd_watchdog_enabled(0, &usec), "sd_watchdog_enabled") > 0 else {
                return nil
            }
            return .microseconds(usec / 2)
        }
    }
}
