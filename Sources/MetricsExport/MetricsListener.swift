import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

/// A minimal HTTP/1.1 listener serving `GET /metrics` from a `MetricsRegistry` (404 elsewhere, 405 for other
/// methods), bounded in connections, request size and request time (`MetricsListenerLimits`). One small service of
/// a daemon's ServiceGroup: `bind` first (what can fail at start-up, e.g. a port in use), then `run()`.
public final class MetricsListener: Service, Sendable {
    public typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    /// Where the listener accepts scrapes (the bound port when it was asked for port 0).
    public let localAddress: SocketAddress?
    private let listener: NIOAsyncChannel<Connection, Never>
    private let registry: MetricsRegistry
    private let logger: Logger

    /// Why the listener could not start.
    public struct BindError: Error, CustomStringConvertible {
        public var address: String
        public var reason: String
        public var description: String { "cannot listen on \(address) for metrics (metrics.listen): \(reason)" }
    }

    /// Listens on `host:port`; port 0 picks a free port (see `localAddress`).
    public static func bind(
        host: String,
        port: Int,
        registry: MetricsRegistry,
        limits: MetricsListenerLimits = MetricsListenerLimits(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) async throws(BindError) -> MetricsListener {
        let address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        guard let bootstrap = ServerBootstrap(validatingGroup: eventLoopGroup) else {
            throw BindError(address: address, reason: "the event loop group is not a NIOPosix group")
        }
        let open = OpenConnections(maximum: limits.maximumConnections)
        do {
            let listener = try await bootstrap
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelOption(.backlog, value: 64)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                .bind(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try Self.configure(channel, limits: limits, open: open)
                    }
                }
            return MetricsListener(listener: listener, registry: registry, logger: logger)
        } catch {
            throw BindError(address: address, reason: Self.reason(error))
        }
    }

    private init(listener: NIOAsyncChannel<Connection, Never>, registry: MetricsRegistry, logger: Logger) {
        self.listener = listener
        self.localAddress = listener.channel.localAddress
        self.registry = registry
        self.logger = logger
    }

    /// Serves scrapes until graceful shutdown or cancellation, then closes the socket and every connection.
    public func run() async throws {
        logger.info("serving metrics", metadata: ["torpor.metrics_listen": "\(localAddress.map { "\($0)" } ?? "?")"])
        do {
            try await cancelWhenGracefulShutdown {
                try await self.listener.executeThenClose { accepted in
                    try await withThrowingDiscardingTaskGroup { group in
                        for try await connection in accepted {
                            group.addTask { await self.serve(connection) }
                        }
                    }
                }
            }
        } catch is CancellationError {
            // Graceful shutdown or cancellation: not a failure.
        } catch {
            if !Task.isCancelled { throw error }
        }
    }

    /// Closes the listening socket of a listener that will not run (a later start-up step failed).
    public func close() async {
        // Through executeThenClose: a NIOAsyncChannel must finish its writer before it goes away.
        try? await listener.executeThenClose { _ in }
    }

    private func serve(_ connection: Connection) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                for try await part in inbound {
                    switch part {
                    case .head(let request): head = request
                    case .body: break  // bounded by RequestSizeLimitHandler, and ignored
                    case .end:
                        guard let request = head else { return }
                        head = nil
                        try await respond(to: request, outbound)
                        if !request.isKeepAlive { return }
                    }
                }
            }
        } catch {
            // A peer that went away, or that the limits closed: nothing to answer.
            logger.debug("a metrics connection ended", metadata: ["torpor.error": "\(error)"])
        }
    }

    private func respond(to request: HTTPRequestHead, _ outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>)
        async throws
    {
        let route = MetricsRoute(method: request.method, target: request.uri)
        var headers = HTTPHeaders()
        let body: ByteBuffer
        switch route {
        case .metrics:
            body = ByteBuffer(bytes: await registry.exposition())
            headers.add(name: "Content-Type", value: MetricsRegistry.contentType)
        case .notFound:
            body = ByteBuffer(string: "not found; metrics are at \(MetricsRoute.path)\n")
            headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        case .methodNotAllowed:
            body = ByteBuffer(string: "\(request.method) is not allowed; use GET or HEAD\n")
            headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
            headers.add(name: "Allow", value: "GET, HEAD")
        }
        headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        headers.add(name: "Connection", value: request.isKeepAlive ? "keep-alive" : "close")
        try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: route.status, headers: headers)))
        if request.method != .HEAD { try await outbound.write(.body(.byteBuffer(body))) }
        try await outbound.write(.end(nil))
    }

    /// The child pipeline: raw size limit, HTTP codec, pipelining, protocol errors as 400, the request deadline.
    private static func configure(_ channel: any Channel, limits: MetricsListenerLimits, open: OpenConnections) throws
        -> Connection
    {
        guard open.admit() else {
            channel.close(promise: nil)
            throw TooManyConnections()
        }
        channel.closeFuture.whenComplete { _ in open.release() }
        let operations = channel.pipeline.syncOperations
        var decoderLimits = NIOHTTPDecoderLimitConfiguration()
        decoderLimits.maxHeaderFieldSize = limits.maximumRequestBytes
        decoderLimits.maxHeaderListSize = limits.maximumRequestBytes
        try operations.addHandler(RequestSizeLimitHandler(maximumBytes: limits.maximumRequestBytes))
        try operations.addHandler(HTTPResponseEncoder())
        try operations.addHandler(
            ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes, limitConfiguration: decoderLimits))
        )
        try operations.addHandler(HTTPServerPipelineHandler())
        try operations.addHandler(HTTPServerProtocolErrorHandler())
        try operations.addHandler(RequestDeadlineHandler(timeout: limits.requestTimeout))
        return try Connection(wrappingChannelSynchronously: channel)
    }

    private static func reason(_ error: any Error) -> String {
        if let error = error as? IOError { return error.description }
        return "\(error)"
    }
}

/// A connection over a listener's connection limit: closed as it is accepted.
public struct TooManyConnections: Error {
    public init() {}
}

/// Connections held at once, counted when accepted and released when closed (the metrics and GENI listeners).
public final class OpenConnections: Sendable {
    private let count = Atomic<Int>(0)
    private let maximum: Int

    public init(maximum: Int) {
        self.maximum = maximum
    }

    public func admit() -> Bool {
        if count.wrappingAdd(1, ordering: .relaxed).newValue > maximum {
            release()
            return false
        }
        return true
    }

    public func release() {
        count.wrappingSubtract(1, ordering: .relaxed)
    }
}

extension MetricsConfiguration {
    /// The listener `listen` asks for, bound; `nil` when metrics are off. Each daemon binds it before its main
    /// socket, so a metrics port in use stops the start as that one does.
    public func bindListener(
        registry: MetricsRegistry,
        logger: Logger
    ) async throws(MetricsListener.BindError) -> MetricsListener? {
        guard let listen else { return nil }
        return try await MetricsListener.bind(host: listen.host, port: listen.port, registry: registry, logger: logger)
    }
}
