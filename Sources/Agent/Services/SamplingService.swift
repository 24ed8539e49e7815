import ServiceLifecycle

/// Samples the host and its VMs every `sample_interval` (the first round ran at start-up).
struct SamplingService: Service {
    let monitor: AgentMonitor

    func run() async throws {
        await cancelWhenGracefulShutdown { await monitor.runSampling() }
    }
}
