import Logging
import NIOCore
import NIOPosix
import Synchronization
import Wire

/// Accepts Wire connections: answers each dialler's Hello with a Welcome the application decides, then runs the
/// connection handler for it.
///
/// Create one with `bind(host:port:...)` or `bind(listeningSocket:...)` (systemd socket activation), then call
/// `run()` once. `limits` bounds the connections it holds (see `WireServerLimits`); `configuration` bounds each
/// connection (idle time, requests at once, bytes queued for a peer that does not read). With `security: .tls`
/// every dialler must present a certificate the trust store accepts, matching its Hello, and may send only what
/// its role allows (`WireAuthorization`). With `wakeupCoalescing`, the group's event loops pause between turns
/// while many connections are served and none is arriving (`WakeupCoalescing`); only one server of a group should
/// ask for it. `run()` returns when its task is cancelled, after closing the listening socket and every connection;
/// that is all swift-service-lifecycle needs (`extension WireServer: Service {}` in the daemon).
public final class WireServer: Sendable {
    /// Decides the Welcome for a dialler's Hello; the Welcome's `version` is replaced by the negotiated version.
    /// Throw `HandshakeRejection` to refuse the peer.
    public typealias WelcomeProvider = @Sendable (_ hello: Hello, _ negotiatedVersion: UInt8) async throws -> Welcome
    /// Serves one established connection. When it returns or throws, the connection is closed gracefully. When
    /// the server is cancelled, the connection closes under it: `inbound` ends and requests fail.
    public typealias ConnectionHandler = @Sendable (WireConnection) async throws -> Void

    /// Where the server listens (the bound port when it was asked for port 0).
    public let localAddress: SocketAddress?

    private let listener: NIOAsyncChannel<EstablishingConnection, Never>
    private let gate: SharedConnectionGate
    private let limits: WireServerLimits
    private let eventLoopGroup: any EventLoopGroup
    private let wakeupCoalescing: WakeupCoalescing?
    private let coalescer = Mutex<WakeupCoalescer?>(nil)
    private let welcome: WelcomeProvider
    private let handler: ConnectionHandler
    private let logger: Logger

    /// The port the server listens on.
    public var port: Int? { localAddress?.port }

    /// Listens on `host:port`; port 0 picks a free port (see `port`).
    public static func bind(
        host: String,
        port: Int,
        supportedVersions: [UInt8] = Array(WireVersion.supported),
        configuration: WireConnectionConfiguration = WireConnectionConfiguration(),
        limits: WireServerLimits = WireServerLimits(),
        security: WireSecurity = .plaintext,
        frameCounters: WireFrameCounters = .none,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        wakeupCoalescing: WakeupCoalescing? = nil,
        logger: Logger,
        welcome: @escaping WelcomeProvider,
        handler: @escaping ConnectionHandler
    ) async throws(TransportError) -> WireServer {
        let gate = makeGate(limits)
        let initializer = childInitializer(supportedVersions, configuration, gate, security, frameCounters, logger)
        guard let bootstrap = ServerBootstrap(validatingGroup: eventLoopGroup) else {
            throw .bindFailed(host: host, port: port, reason: "the event loop group is not a NIOPosix group")
        }
        let configured =
            bootstrap
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // After a manager restart every agent redials at once: the kernel holds them while the accept loop
            // catches up (it caps this at net.core.somaxconn).
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelInitializer(gateInstaller(gate, logger))
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
        do {
            let listener = try await configured.bind(
                host: host,
                port: port,
                serverBackPressureStrategy: acceptedQueue,
                childChannelInitializer: initializer
            )
            return WireServer(
                listener: listener,
                gate: gate,
                limits: limits,
                eventLoopGroup: eventLoopGroup,
                wakeupCoalescing: wakeupCoalescing,
                welcome: welcome,
                handler: handler,
                logger: logger
            )
        } catch {
            throw .bindFailed(host: host, port: port, reason: "\(error)")
        }
    }

    /// Listens on an already bound and listening socket, e.g. one systemd passed in (`sd_listen_fds`). The
    /// server owns the descriptor from now on and closes it when `run()` ends.
    public static func bind(
        listeningSocket descriptor: NIOBSDSocket.Handle,
        supportedVersions: [UInt8] = Array(WireVersion.supported),
        configuration: WireConnectionConfiguration = WireConnectionConfiguration(),
        limits: WireServerLimits = WireServerLimits(),
        security: WireSecurity = .plaintext,
        frameCounters: WireFrameCounters = .none,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        wakeupCoalescing: WakeupCoalescing? = nil,
        logger: Logger,
        welcome: @escaping WelcomeProvider,
        handler: @escaping ConnectionHandler
    ) async throws(TransportError) -> WireServer {
        let gate = makeGate(limits)
        let initializer = childInitializer(supportedVersions, configuration, gate, security, frameCounters, logger)
        guard let bootstrap = ServerBootstrap(validatingGroup: eventLoopGroup) else {
            throw .socketAdoptionFailed(descriptor: descriptor, reason: "the event loop group is not a NIOPosix group")
        }
        // No bind-time options: the socket arrives bound and listening.
        let configured =
            bootstrap
            .serverChannelInitializer(gateInstaller(gate, logger))
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
        do {
            let listener = try await configured.bind(
                descriptor,
                serverBackPressureStrategy: acceptedQueue,
                childChannelInitializer: initializer
            )
            return WireServer(
                listener: listener,
                gate: gate,
                limits: limits,
                eventLoopGroup: eventLoopGroup,
                wakeupCoalescing: wakeupCoalescing,
                welcome: welcome,
                handler: handler,
                logger: logger
            )
        } catch {
            throw .socketAdoptionFailed(descriptor: descriptor, reason: "\(error)")
        }
    }

    private init(
        listener: NIOAsyncChannel<EstablishingConnection, Never>,
        gate: SharedConnectionGate,
        limits: WireServerLimits,
        eventLoopGroup: any EventLoopGroup,
        wakeupCoalescing: WakeupCoalescing?,
        welcome: @escaping WelcomeProvider,
        handler: @escaping ConnectionHandler,
        logger: Logger
    ) {
        self.listener = listener
        self.gate = gate
        self.limits = limits
        self.eventLoopGroup = eventLoopGroup
        self.wakeupCoalescing = wakeupCoalescing
        self.localAddress = listener.channel.localAddress
        self.welcome = welcome
        self.handler = handler
        var logger = logger
        logger[transportMetadataKey: .listenAddress] = localAddress.map { "\($0.endpointDescription)" } ?? "unknown"
        self.logger = logger
    }

    /// Connections served at once: `limits.maximumConnections`, or fewer when the descriptor limit allows fewer.
    public var maximumConnections: Int { gate.maximumServed }

    /// Pauses the event loops took to coalesce wake-ups (`wakeupCoalescing`), since `run()` started.
    public var wakeupPauses: Int { coalescer.withLock { $0?.pauses ?? 0 } }

    /// Accepts connections until the task is cancelled or the listening socket fails. Call it once.
    public func run() async throws {
        logger.info("listening", metadata: [TransportMetadataKey.limit.rawValue: "\(gate.maximumServed)"])
        if gate.maximumServed < limits.maximumConnections {
            logger.warning(
                "the descriptor limit allows fewer connections than configured",
                metadata: [
                    TransportMetadataKey.limit.rawValue: "\(gate.maximumServed)",
                    "torpor.configured_limit": "\(limits.maximumConnections)",
                    "torpor.reserved_descriptors": "\(limits.reservedDescriptors)",
                ]
            )
        }
        let gate = self.gate
        let coalescer = wakeupCoalescing.map {
            WakeupCoalescer.start(on: eventLoopGroup, $0, arrivals: { gate.acceptedSoFar }, load: { gate.served })
        }
        self.coalescer.withLock { $0 = coalescer }
        defer {
            coalescer?.stop()
            logger.info("stopped listening")
        }
        do {
            try await listener.executeThenClose { accepted in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in accepted {
                        group.addTask { await self.serve(connection) }
                    }
                }
            }
        } catch {
            // Shutting down is not a failure.
            if !Task.isCancelled { throw error }
        }
    }

    private func serve(_ establishing: EstablishingConnection) async {
        let session = establishing.session
        await withTaskCancellationHandler {
            do {
                let received = try await establishing.waitForHello()
                do {
                    let welcome = try await welcome(received.hello, received.negotiatedVersion)
                    session.eventLoop.execute { session.value.welcomeDecided(welcome) }
                } catch let rejection as HandshakeRejection {
                    let error = ErrorMessage(code: rejection.code, message: rejection.message)
                    session.eventLoop.execute { session.value.welcomeRefused(error) }
                    return
                } catch {
                    establishing.logger.error("the welcome closure failed", metadata: errorMetadata(error))
                    let refusal = ErrorMessage(code: .internalError, message: "the server could not admit this peer")
                    session.eventLoop.execute { session.value.welcomeRefused(refusal) }
                    return
                }
                let peer = try await establishing.waitUntilEstablished()
                let connection = WireConnection(establishing, peer: peer)
                do {
                    try await handler(connection)
                } catch let error as TransportError {
                    // Usually the connection's own end (inbound rethrows it), which the session already logged.
                    connection.logger.debug("the connection handler ended", metadata: errorMetadata(error))
                } catch {
                    if !Task.isCancelled {
                        connection.logger.warning("the connection handler failed", metadata: errorMetadata(error))
                    }
                }
                await connection.close()
            } catch {
                // The handshake failed; the session handler has logged why and closed the channel.
            }
        } onCancel: {
            session.eventLoop.execute { session.value.closeGracefully() }
        }
    }

    /// Accepted sockets queued for `run()`'s loop before the listener stops accepting. NIO's default (10) stalls
    /// accepting whenever the cooperative pool is busy for a moment, and a kernel backlog that overflows drops SYNs,
    /// which diallers retry only after 1, 3, 7, 15, 31 s; the gate still bounds the sockets held.
    private static let acceptedQueue = NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark(
        lowWatermark: 256,
        highWatermark: 1024
    )

    private static func makeGate(_ limits: WireServerLimits) -> SharedConnectionGate {
        let descriptorLimit = limits.descriptorLimit ?? WireServerLimits.processDescriptorLimit()
        return SharedConnectionGate(ConnectionGate(limits: limits, descriptorLimit: descriptorLimit))
    }

    private static func gateInstaller(
        _ gate: SharedConnectionGate,
        _ logger: Logger
    ) -> @Sendable (any Channel) -> EventLoopFuture<Void> {
        { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(ConnectionGateHandler(gate: gate, logger: logger))
            }
        }
    }

    private static func childInitializer(
        _ supportedVersions: [UInt8],
        _ configuration: WireConnectionConfiguration,
        _ gate: SharedConnectionGate,
        _ security: WireSecurity,
        _ frameCounters: WireFrameCounters,
        _ logger: Logger
    ) -> @Sendable (any Channel) -> EventLoopFuture<EstablishingConnection> {
        { channel in
            channel.eventLoop.makeCompletedFuture {
                var refusal: ErrorMessage?
                switch gate.admit(channel) {
                case .admit(let refusedBefore):
                    if refusedBefore > 0 {
                        logger.notice(
                            "admitting connections again",
                            metadata: [TransportMetadataKey.refused.rawValue: "\(refusedBefore)"]
                        )
                    }
                case .refuse(let startsRun):
                    let limit = gate.maximumServed
                    if startsRun {
                        logger.warning(
                            "refusing connections: serving as many as allowed",
                            metadata: [TransportMetadataKey.limit.rawValue: "\(limit)"]
                        )
                    }
                    refusal = ErrorMessage(
                        code: .busy,
                        message: "the server serves at most \(limit) connections at once; try again later"
                    )
                }
                return try EstablishingConnection.install(
                    on: channel,
                    role: .listener(supportedVersions: supportedVersions),
                    configuration: configuration,
                    refusal: refusal,
                    security: security,
                    frameCounters: frameCounters,
                    logger: logger
                )
            }
        }
    }

    private func errorMetadata(_ error: any Error) -> Logger.Metadata {
        [TransportMetadataKey.error.rawValue: "\(error)"]
    }
}
