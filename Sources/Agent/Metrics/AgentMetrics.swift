import CoreMetrics
import Libvirt
import Synchronization
import Wire

/// The agent's metrics (docs/metrics.md), written through an injected factory: each collector's duration and
/// success in the last sampling round (node_exporter's `scrape_collector_*` pattern), libvirt call latencies,
/// power actions as they end, and, at scrape time, the samples held in the rings.
public struct AgentMetrics: Sendable {
    public let factory: any MetricsFactory
    private let libvirtCalls: LibvirtCallMetrics

    public init(factory: any MetricsFactory) {
        self.factory = factory
        self.libvirtCalls = LibvirtCallMetrics(factory: factory)
    }

    /// Records nothing: for code under test that does not look at metrics.
    public static let none = AgentMetrics(factory: NOOPMetricsHandler.instance)

    /// One collector ran in a sampling round: how long it took and whether it produced data.
    func collectorRan(_ collector: String, took: Duration, succeeded: Bool) {
        Gauge(
            label: "torpor_agent_scrape_collector_duration_seconds",
            dimensions: [("collector", collector)],
            factory: factory
        ).record(took / .seconds(1))
        Gauge(label: "torpor_agent_scrape_collector_success", dimensions: [("collector", collector)], factory: factory)
            .record(succeeded ? 1 : 0)
    }

    /// One libvirt call ended (`LibvirtConnection.observeCalls`).
    func libvirtCall(_ call: LibvirtCallRecord) {
        libvirtCalls.record(call)
    }

    /// A power action ended; `outcome` is the result code (ok, or why it was refused or failed).
    func powerActionEnded(_ action: PowerCommand.Action, outcome: CommandResult.Code) {
        Counter(
            label: "torpor_agent_power_actions_total",
            dimensions: [("action", action.metricName), ("outcome", "\(outcome)")],
            factory: factory
        ).increment()
    }

    /// The rings at scrape time: samples held for the host and, summed, for the VMs; and the VMs known.
    func recordRings(hostSamples: Int, vmSamples: Int, vms: Int) {
        Gauge(label: "torpor_agent_ring_samples", dimensions: [("ring", "host")], factory: factory)
            .record(hostSamples)
        Gauge(label: "torpor_agent_ring_samples", dimensions: [("ring", "vm")], factory: factory).record(vmSamples)
        Gauge(label: "torpor_agent_vms", factory: factory).record(vms)
    }
}

/// The Timer and error Counter of each libvirt function, made on its first call and kept: a libvirt call happens
/// several times per VM per sample, and making a swift-metrics Timer (a label lookup in the Prometheus registry
/// under its lock) for each was an eighth of the agent's CPU at 100 VMs.
final class LibvirtCallMetrics: Sendable {
    private struct Function: Sendable {
        let duration: Timer
        /// Made on the function's first failure, so a function that never fails exports no error series.
        var errors: Counter?
    }

    private let factory: any MetricsFactory
    private let functions = Mutex<[String: Function]>([:])

    init(factory: any MetricsFactory) {
        self.factory = factory
    }

    func record(_ call: LibvirtCallRecord) {
        let (duration, errors) = functions.withLock { functions -> (Timer, Counter?) in
            if let known = functions[call.function], call.succeeded || known.errors != nil {
                return (known.duration, call.succeeded ? nil : known.errors)
            }
            var function =
                functions[call.function]
                ?? Function(
                    duration: Timer(
                        label: "torpor_agent_libvirt_call_duration_seconds",
                        dimensions: [("function", call.function)],
                        factory: factory
                    ),
                    errors: nil
                )
            if !call.succeeded {
                function.errors = Counter(
                    label: "torpor_agent_libvirt_call_errors_total",
                    dimensions: [("function", call.function)],
                    factory: factory
                )
            }
            functions[call.function] = function
            return (function.duration, function.errors)
        }
        let (seconds, attoseconds) = call.duration.components
        duration.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        errors?.increment()
    }
}

extension PowerCommand.Action {
    /// The label value: the action's key in agent.yaml's `power:` section.
    var metricName: String {
        switch self {
        case .suspendToRam: "suspend_to_ram"
        case .suspendToDisk: "suspend_to_disk"
        case .suspendToBoth: "suspend_to_both"
        case .shutdown: "shutdown"
        }
    }
}
