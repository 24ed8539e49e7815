import ServiceLifecycle

/// Keeps the agent joined to its manager: dials, says Hello, reports, reconnects with backoff.
struct ManagerLinkService: Service {
    let link: ManagerLink

    func run() async throws {
        await cancelWhenGracefulShutdown { await link.run() }
    }
}
