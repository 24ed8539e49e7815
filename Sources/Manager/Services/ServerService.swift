import ServiceLifecycle
import Transport

/// Accepts agents and control peers on the bound socket; on shutdown closes it and every connection.
struct ServerService: Service {
    let server: WireServer

    func run() async throws {
        try await cancelWhenGracefulShutdown { try await server.run() }
    }
}
