import CoreMetrics
import Prometheus

/// The metrics one daemon exports: a Prometheus registry, the swift-metrics factory that writes into it, and hooks
/// that refresh gauges mirroring state right before each scrape (no double bookkeeping: the state is read where it
/// lives). Independent of any listener, so `/metrics` can be served by `MetricsListener` or mounted on another
/// HTTP front.
public final class MetricsRegistry: Sendable {
    /// Called before each exposition; records the gauges computed from the daemon's state.
    public typealias ScrapeHook = @Sendable () async -> Void

    public let prometheus: PrometheusCollectorRegistry
    /// Library code takes this as its injected `MetricsFactory`; only an executable's `main` bootstraps the global
    /// `MetricsSystem` with it.
    public let factory: PrometheusMetricsFactory
    private let hooks: ScrapeHooks

    /// The Prometheus text format's media type (version 0.0.4).
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public init(durationBuckets: [Duration] = MetricsRegistry.defaultDurationBuckets) {
        let prometheus = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: prometheus)
        factory.defaultDurationHistogramBuckets = durationBuckets
        self.prometheus = prometheus
        self.factory = factory
        self.hooks = ScrapeHooks()
    }

    /// From 1 ms (a libvirt call) to 5 min (a host waking through its BMC), in seconds.
    public static let defaultDurationBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        .seconds(120), .seconds(300),
    ]

    /// Adds a hook run before every exposition, in the order added.
    public func onScrape(_ hook: @escaping ScrapeHook) {
        hooks.append(hook)
    }

    /// Runs the scrape hooks, then renders every metric in the Prometheus text format.
    public func exposition() async -> [UInt8] {
        for hook in hooks.all { await hook() }
        return prometheus.emitToBuffer()
    }
}
