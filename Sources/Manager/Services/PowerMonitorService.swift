import Logging
import ServiceLifecycle

/// Reads every BMC's power sensors at once, then every `interval` (`energy.power_reading_interval`). Only in the
/// group when some host has an `ipmi` section. Each host's measured idle-awake power goes to the store (once
/// measured, then every `recordInterval` if it moved by a watt or more), and a new run starts from what the store
/// holds, so a host asleep across a manager restart or a failover still counts as saving.
struct PowerMonitorService: Service {
    let monitor: PowerMonitor
    let registry: any HostStatusSource
    let interval: Duration
    let store: ManagerStore
    var recordInterval: Duration = .seconds(60)
    let logger: Logger

    func run() async throws {
        do {
            await monitor.remember(idleWatts: try await store.idleWatts())
        } catch {
            logger.warning("cannot read the hosts' recorded idle power", metadata: [.error: "\(error)"])
        }
        await cancelWhenGracefulShutdown {
            var nextRecord = ContinuousClock.now + recordInterval
            repeat {
                // Hosts whose agent is connected are up: their readings feed the idle estimate.
                let up = await registry.connectedHostIDs()
                await monitor.sample(awake: Set(up))
                let changes = ContinuousClock.now >= nextRecord
                if changes { nextRecord = .now + recordInterval }
                await record(changes: changes)
            } while (try? await Task.sleep(for: interval)) != nil
        }
    }

    private func record(changes: Bool) async {
        let changed = await monitor.idleWattsToRecord(changes: changes)
        do {
            try await store.setIdleWatts(changed)
        } catch {
            await monitor.notRecorded(changed)
            logger.warning("cannot record the hosts' idle power", metadata: [.error: "\(error)"])
        }
    }
}
