import ServiceLifecycle

/// Reads every BMC's power sensors at once, then every `interval` (`energy.power_reading_interval`). Only in the
/// group when some host has an `ipmi` section.
struct PowerMonitorService: Service {
    let monitor: PowerMonitor
    let registry: any HostStatusSource
    let interval: Duration

    func run() async throws {
        await cancelWhenGracefulShutdown {
            repeat {
                // Hosts whose agent is connected are up: their readings feed the idle estimate.
                let up = await registry.connectedHostIDs()
                await monitor.sample(awake: Set(up))
            } while (try? await Task.sleep(for: interval)) != nil
        }
    }
}
