import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import Transport

/// The manager's HTTP front (`http:` in manager.yaml): one Hummingbird server carrying the route groups the daemon
/// gives it (Snooze's REST API, and whatever else is plugged in), with an access log line per request. Runs until
/// graceful shutdown; a bind failure ends it with an error naming `http.listen`.
public struct HTTPFrontService: Service {
    public enum StartupError: Error, CustomStringConvertible {
        case listen(String, reason: String)

        public var description: String {
            switch self {
            case .listen(let address, let reason): "cannot listen on \(address) (http.listen): \(reason)"
            }
        }
    }

    let listen: String
    let address: HostPort
    let configuration: HTTPFrontConfiguration
    let routes: [any HTTPFrontRoutes]
    let logger: Logger
    let onListening: @Sendable (Int) -> Void

    /// Fails when `configuration.listen` is missing or not `host:port`.
    public init(
        configuration: HTTPFrontConfiguration,
        routes: [any HTTPFrontRoutes],
        logger: Logger,
        onListening: @escaping @Sendable (Int) -> Void = { _ in }
    ) throws(StartupError) {
        let listen = configuration.listen ?? ""
        guard let address = HostPort(listen, allowsPortZero: true) else {
            throw .listen(listen, reason: "not host:port")
        }
        self.listen = listen
        self.address = address
        self.configuration = configuration
        self.routes = routes
        self.logger = logger
        self.onListening = onListening
    }

    /// Every route group's routes, answered behind the access log.
    func responder() -> some HTTPResponder<HTTPFrontContext> {
        let router = Router(context: HTTPFrontContext.self)
        router.add(middleware: UnknownRouteMiddleware())
        for group in routes { group.add(to: router) }
        return AccessLogResponder(inner: router.buildResponder(), logger: logger)
    }

    public func run() async throws {
        let running = RunningFlag()
        let onListening = self.onListening
        let logger = self.logger
        let listen = self.listen
        let application = Application(
            responder: responder(),
            server: .tolerantHTTP1(
                configuration: HTTP1Channel.Configuration(
                    idleTimeout: .nanoseconds(Int64(configuration.idleTimeout.components.seconds) * 1_000_000_000)
                )
            ),
            configuration: ApplicationConfiguration(
                address: .hostname(address.host, port: address.port),
                serverName: "torpor-manager"
            ),
            onServerRunning: { channel in
                running.set()
                let port = channel.localAddress?.port ?? 0
                logger.notice(
                    "http front listening",
                    metadata: [.listen: "\(listen)", .port: "\(port)"]
                )
                onListening(port)
            },
            logger: logger
        )
        do {
            try await application.run()
        } catch {
            // Before the server ran, the error is its bind's.
            guard running.isSet else { throw StartupError.listen(listen, reason: "\(error)") }
            throw error
        }
    }
}

/// Set once from the server's event loop, read after it stopped.
private final class RunningFlag: @unchecked Sendable {
    // @unchecked: `value` is only touched while holding `lock`.
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
