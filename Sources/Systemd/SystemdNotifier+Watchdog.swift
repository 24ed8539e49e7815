extension SystemdNotifier {
    /// Pings `WATCHDOG=1` now and then every `interval` until the task is cancelled, then returns.
    ///
    /// Returns rather than throwing on cancellation so that it can run as a service that ends on
    /// graceful shutdown; it throws only when a ping cannot be sent.
    public func runWatchdog<C: Clock>(
        every interval: Duration,
        clock: C = ContinuousClock()
    ) async throws(SystemdError) where C.Duration == Duration {
        while !Task.isCancelled {
            try self.watchdog()
            do {
                try await clock.sleep(for: interval)
            } catch {
                return  // Clock.sleep throws only on cancellation.
            }
        }
    }

    /// Pings at ``watchdogInterval`` until cancelled; without a watchdog it just waits for cancellation,
    /// so callers need not special-case a unit without `WatchdogSec=`.
    public func runWatchdog<C: Clock>(clock: C = ContinuousClock()) async throws(SystemdError)
    where C.Duration == Duration {
        if let interval = try self.watchdogInterval {
            try await self.runWatchdog(every: interval, clock: clock)
            return
        }
        while !Task.isCancelled {
            do {
                try await clock.sleep(for: .seconds(3600))
            } catch {
                return
            }
        }
    }
}
