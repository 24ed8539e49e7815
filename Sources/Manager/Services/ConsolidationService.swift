import Foundation
import ServiceLifecycle

/// The relocation and consolidation loop's clock: every `refreshInterval` (`estimator.refresh_interval`) the
/// estimates are refreshed (`refresh`: relocation), and when the consolidation schedule's time has come it fires
/// first (so at most one interval late; a fire time missed while the manager was down or busy fires once). Only in
/// the group when relocation is on or a schedule is set.
struct ConsolidationService: Service {
    let refreshInterval: Duration
    let schedule: CronSchedule?
    let timeZone: TimeZone
    /// The wall clock the schedule is read against; injected for tests.
    var now: @Sendable () -> Date = { Date() }
    let scheduleFired: @Sendable () async -> Void
    let refresh: @Sendable () async -> Void

    init(loop: ConsolidationLoop, refreshInterval: Duration, schedule: CronSchedule?, timeZone: TimeZone) {
        self.init(
            refreshInterval: refreshInterval,
            schedule: schedule,
            timeZone: timeZone,
            scheduleFired: { await loop.scheduleFired() },
            refresh: { await loop.refresh() }
        )
    }

    init(
        refreshInterval: Duration,
        schedule: CronSchedule?,
        timeZone: TimeZone,
        now: @escaping @Sendable () -> Date = { Date() },
        scheduleFired: @escaping @Sendable () async -> Void,
        refresh: @escaping @Sendable () async -> Void
    ) {
        self.refreshInterval = refreshInterval
        self.schedule = schedule
        self.timeZone = timeZone
        self.now = now
        self.scheduleFired = scheduleFired
        self.refresh = refresh
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var nextFire = schedule?.nextFire(after: now(), in: timeZone)
            while (try? await Task.sleep(for: refreshInterval)) != nil {
                let time = now()
                if let fire = nextFire, time >= fire {
                    nextFire = schedule?.nextFire(after: time, in: timeZone)
                    await scheduleFired()
                }
                await refresh()
            }
        }
    }
}
