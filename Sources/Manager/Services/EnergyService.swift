import ServiceLifecycle

/// The energy saver: evaluates the power policy every `interval` (`energy.evaluation_interval`), first after one
/// interval. Only in the group when `energy.enabled`.
struct EnergyService: Service {
    let interval: Duration
    let evaluate: @Sendable () async -> Void

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while (try? await Task.sleep(for: interval)) != nil {
                await evaluate()
            }
        }
    }
}
