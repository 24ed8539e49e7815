import ServiceLifecycle
import Systemd

/// Pings systemd's watchdog (`WatchdogSec=`) until shutdown. Only in the group when the unit has a watchdog.
struct WatchdogService: Service {
    let notifier: SystemdNotifier

    func run() async throws {
        let notifier = notifier
        try await cancelWhenGracefulShutdown { try await notifier.runWatchdog() }
    }
}
