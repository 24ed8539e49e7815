import Libvirt
import ServiceLifecycle

/// Samples at once when libvirt reports a domain starting, stopping, pausing or vanishing. Without lifecycle
/// events it returns early, and the group carries on (`AgentDaemon` sets `successTerminationBehavior: .ignore`).
struct LifecycleEventService: Service {
    let monitor: AgentMonitor
    let connection: LibvirtConnection

    func run() async throws {
        let monitor = monitor
        let connection = connection
        await cancelWhenGracefulShutdown { await monitor.followLifecycleEvents(of: connection) }
    }
}
