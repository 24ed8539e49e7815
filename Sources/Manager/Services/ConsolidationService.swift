import Foundation
import ServiceLifecycle

/// The relocation and consolidation loop's clock: every `refreshInterval` (`estimator.refresh_interval`) the
/// estimates are refreshed (relocation), and when the consolidation schedule's time has come it fires (so at most
/// one interval late). Only in the group when relocation or a schedule is configured.
struct ConsolidationService: Service {
    let loop: ConsolidationLoop
    let refreshInterval: Duration
    let schedule: CronSchedule?
    let timeZone: TimeZone

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var nextFire = schedule?.nextFire(after: Date(), in: timeZone)
            while (try? await Task.sleep(for: refreshInterval)) != nil {
                if let fire = nextFire, Date() >= fire {
                    nextFire = schedule?.nextFire(after: Date(), in: timeZone)
                    await loop.scheduleFired()
                }
                await loop.refresh()
            }
        }
    }
}
