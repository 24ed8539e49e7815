import CoreMetrics
import Synchronization
import Wire

/// The manager's metrics (docs/metrics.md), written through an injected factory. Events (tasks, wakes, sleeps,
/// migrations, frames) are counted where they happen; gauges that mirror state are recorded by `refresh` at scrape
/// time from the same replies `torpor hosts` and `torpor energy` show, so nothing is counted twice.
public struct ManagerMetrics: Sendable {
    public let factory: any MetricsFactory
    private let energySeen: EnergySeen

    public init(factory: any MetricsFactory) {
        self.factory = factory
        self.energySeen = EnergySeen()
    }

    /// Records nothing: for code under test that does not look at metrics.
    public static let none = ManagerMetrics(factory: NOOPMetricsHandler.instance)

    // MARK: Events

    /// The broker confirmed an event (`events.rabbitmq`).
    func rabbitMQPublished() {
        Counter(label: "torpor_events_rabbitmq_published_total", factory: factory).increment()
    }

    /// A connect or publish to the broker failed (it is retried).
    func rabbitMQFailed() {
        Counter(label: "torpor_events_rabbitmq_failures_total", factory: factory).increment()
    }

    /// Events the publisher's buffer dropped, oldest first, while the broker was away.
    func rabbitMQDropped(_ count: UInt64) {
        Counter(label: "torpor_events_rabbitmq_dropped_total", factory: factory).increment(by: Int64(clamping: count))
    }

    /// etcd took a batch of state writes (a coordinated leader, docs/ha.md): how many changes, how long it took.
    func stateReplicated(changes: Int, took: Duration) {
        Counter(label: "torpor_state_replication_batches_total", factory: factory).increment()
        Counter(label: "torpor_state_replicated_changes_total", factory: factory).increment(by: Int64(changes))
        Timer(label: "torpor_state_replication_duration_seconds", factory: factory).recordNanoseconds(took.nanoseconds)
    }

    /// A batch of state writes did not reach etcd: `unreachable` (sent again) or `deposed` (never: another may lead).
    func stateReplicationFailed(reason: String) {
        Counter(label: "torpor_state_replication_failures_total", dimensions: [("reason", reason)], factory: factory)
            .increment()
    }

    /// A task ended; `outcome` is its final state (succeeded, failed).
    func taskEnded(kind: String, outcome: String) {
        Counter(label: "torpor_tasks_total", dimensions: [("kind", kind), ("outcome", outcome)], factory: factory)
            .increment()
    }

    /// A wake ended: `woke` with the time from the order until the agent had rejoined, or `failed`.
    func wakeEnded(outcome: String, took: Duration?) {
        Counter(label: "torpor_host_wakes_total", dimensions: [("outcome", outcome)], factory: factory).increment()
        if let took {
            Timer(label: "torpor_host_wake_duration_seconds", factory: factory).recordNanoseconds(took.nanoseconds)
        }
    }

    /// A power-down command ended (accepted, refused, not_delivered), with the time until the agent answered.
    func sleepEnded(action: String, outcome: String, took: Duration) {
        Counter(
            label: "torpor_host_sleeps_total",
            dimensions: [("action", action), ("outcome", outcome)],
            factory: factory
        ).increment()
        Timer(label: "torpor_host_sleep_duration_seconds", factory: factory).recordNanoseconds(took.nanoseconds)
    }

    /// A migration ended (completed, aborted, failed), with its duration when the agent measured one.
    func migrationEnded(outcome: String, took: Duration?) {
        Counter(label: "torpor_migrations_total", dimensions: [("outcome", outcome)], factory: factory).increment()
        if let took {
            Timer(label: "torpor_migration_duration_seconds", factory: factory).recordNanoseconds(took.nanoseconds)
        }
    }

    // MARK: State, at scrape time

    /// Records the gauges mirroring state: hosts by state, connected agents, watts per host and for the cluster,
    /// energy used and saved, VMs by state.
    /// `vmStates` nil (the store could not be read): the VM gauges keep their last values.
    func record(status: ManagerStatusReply, energy: EnergyReply, vmStates: [StoredVM.State]?) {
        for state in ManagerStatusReply.HostState.allCases {
            Gauge(label: "torpor_hosts", dimensions: [("state", state.metricName)], factory: factory)
                .record(status.hosts.count { $0.state == state })
        }
        Gauge(label: "torpor_agents_connected", factory: factory).record(status.hosts.count(where: \.connected))
        // Out of service for maintenance (`torpor host cordon`).
        Gauge(label: "torpor_hosts_cordoned", factory: factory).record(status.hosts.count { $0.cordonReason != nil })
        // Their agent said their libvirtd does not answer (HypervisorStatus): nothing is placed there.
        Gauge(label: "torpor_hosts_without_hypervisor", factory: factory)
            .record(status.hosts.count { $0.hypervisorProblem != nil })
        for state in StoredVM.State.allCases {
            guard let vmStates else { break }
            Gauge(label: "torpor_vms", dimensions: [("state", state.rawValue)], factory: factory)
                .record(vmStates.count { $0 == state })
        }
        var clusterWatts = 0.0
        for host in energy.hosts {
            let gauge = Gauge(label: "torpor_host_power_watts", dimensions: [("host", host.hostID)], factory: factory)
            if let watts = host.watts {
                gauge.record(watts)
                clusterWatts += watts
            } else {
                // No reading (no BMC, or it failed): no series rather than a stale or made-up value.
                gauge.destroy()
            }
        }
        Gauge(label: "torpor_cluster_power_watts", factory: factory).record(clusterWatts)
        // The power monitor keeps running totals in kWh; counters grow by what they added since the last scrape.
        let joulesPerKilowattHour = 3_600_000.0
        for host in energy.hosts {
            let used = host.usedKilowattHours * joulesPerKilowattHour
            let saved = max(0, host.alwaysOnKilowattHours - host.usedKilowattHours) * joulesPerKilowattHour
            let (usedIncrease, savedIncrease) = energySeen.advance(host: host.hostID, used: used, saved: saved)
            FloatingPointCounter(
                label: "torpor_energy_used_joules_total",
                dimensions: [("host", host.hostID)],
                factory: factory
            ).increment(by: usedIncrease)
            FloatingPointCounter(
                label: "torpor_energy_saved_joules_total",
                dimensions: [("host", host.hostID)],
                factory: factory
            ).increment(by: savedIncrease)
        }
    }
}

extension ManagerStatusReply.HostState {
    /// The label value: the state's name as `torpor hosts` prints it, in lower case.
    public var metricName: String {
        switch self {
        case .active: "active"
        case .sleeping: "sleeping"
        case .waking: "waking"
        case .failed: "failed"
        }
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// The energy totals last exported per host, so counters grow by the difference (never shrink).
final class EnergySeen: Sendable {
    private let seen = Mutex<[String: (used: Double, saved: Double)]>([:])

    func advance(host: String, used: Double, saved: Double) -> (used: Double, saved: Double) {
        seen.withLock { seen in
            let last = seen[host] ?? (0, 0)
            let increase = (max(0, used - last.used), max(0, saved - last.saved))
            seen[host] = (max(used, last.used), max(saved, last.saved))
            return increase
        }
    }
}
