import ServiceLifecycle

/// Ends reservations (docs/reservations.md): checks them at start-up, so one that ended while the manager was
/// stopped is handled at once, then every `interval` (`reservations.check_interval`).
struct ReservationService: Service {
    let interval: Duration
    let check: @Sendable () async -> Void

    func run() async throws {
        await cancelWhenGracefulShutdown {
            repeat {
                await check()
            } while (try? await Task.sleep(for: interval)) != nil
        }
    }
}
