import Logging
import ServiceLifecycle
import Systemd

/// Tells systemd the manager is ready when the group starts (the socket is bound and the state open by then), and
/// that it is stopping as soon as shutdown begins: it is the last service, so the first to be shut down.
struct ReadinessService: Service {
    let logger: Logger

    func run() async throws {
        let notifier = SystemdNotifier()
        _ = try? notifier.ready()
        do {
            try await gracefulShutdown()
        } catch {
            // Cancelled: the group is stopping because another service failed.
        }
        logger.info("manager stopping")
        _ = try? notifier.stopping()
    }
}
