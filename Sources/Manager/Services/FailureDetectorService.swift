import ServiceLifecycle

/// Failure detection: a few times per `timeout` (`heartbeat_timeout`), hosts silent for longer are marked FAILED
/// and handed to `hostsFailed` (the group leader), each once per failure.
struct FailureDetectorService: Service {
    let registry: HostRegistry
    let timeout: Duration
    let hostsFailed: @Sendable ([HostRecord]) async -> Void

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while (try? await Task.sleep(for: timeout / 4)) != nil {
                let failed = await registry.expire(timeout: timeout, at: .now)
                if !failed.isEmpty { await hostsFailed(failed) }
            }
        }
    }
}
