import Libvirt
import ServiceLifecycle

/// Samples at once when libvirt reports a domain starting, stopping, pausing or vanishing. Without lifecycle
/// events it stops following early and waits for its turn to stop; the agent carries on sampling on its period.
struct LifecycleEventService: Service {
    let monitor: AgentMonitor
    let connection: LibvirtConnection

    func run() async throws {
        let monitor = monitor
        let connection = connection
        await cancelWhenGracefulShutdown { await monitor.followLifecycleEvents(of: connection) }
        await waitForItsTurnToStop()
    }
}
