import ServiceLifecycle

/// Failure detection: a few times per `timeout` (`heartbeat_timeout`), hosts silent for longer are marked FAILED
/// and handed to `hostsFailed` (the group leader), each once per failure. The hosts are this process's agents
/// (`HostRegistry`) or, on a group leader with group managers, those whose group manager was lost
/// (`RemoteGroupManagers`).
struct FailureDetectorService: Service {
    let expire: @Sendable (Duration, ContinuousClock.Instant) async -> [HostRecord]
    let timeout: Duration
    let hostsFailed: @Sendable ([HostRecord]) async -> Void

    init(
        registry: HostRegistry,
        timeout: Duration,
        hostsFailed: @escaping @Sendable ([HostRecord]) async -> Void
    ) {
        self.init(expire: { await registry.expire(timeout: $0, at: $1) }, timeout: timeout, hostsFailed: hostsFailed)
    }

    init(
        expire: @escaping @Sendable (Duration, ContinuousClock.Instant) async -> [HostRecord],
        timeout: Duration,
        hostsFailed: @escaping @Sendable ([HostRecord]) async -> Void
    ) {
        self.expire = expire
        self.timeout = timeout
        self.hostsFailed = hostsFailed
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while (try? await Task.sleep(for: timeout / 4)) != nil {
                let failed = await expire(timeout, .now)
                if !failed.isEmpty { await hostsFailed(failed) }
            }
        }
    }
}
