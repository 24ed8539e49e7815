import ServiceLifecycle
import Transport

/// Rereads the revocation list on SIGHUP (TLS only).
struct RevocationReloadService: Service {
    let reloader: RevocationReloader

    func run() async throws {
        await cancelWhenGracefulShutdown { await reloader.run() }
    }
}
