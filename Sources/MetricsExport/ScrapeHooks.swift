import Synchronization

/// The scrape hooks: added at start-up, read at every scrape.
final class ScrapeHooks: Sendable {
    private let hooks = Mutex<[MetricsRegistry.ScrapeHook]>([])

    func append(_ hook: @escaping MetricsRegistry.ScrapeHook) {
        hooks.withLock { $0.append(hook) }
    }

    var all: [MetricsRegistry.ScrapeHook] { hooks.withLock { $0 } }
}
