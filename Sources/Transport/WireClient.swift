import Logging
import NIOCore
import NIOPosix
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// Dials Wire servers: connects over TCP, sends `hello`, and returns the connection once the Welcome arrived.
public struct WireClient: Sendable {
    /// Sent as the first frame; its `supportedVersions` are the versions this side offers.
    public var hello: Hello
    public var connectTimeout: Duration
    public var configuration: WireConnectionConfiguration
    /// TLS: the server must present a certificate the trust store accepts, with the role its Welcome claims.
    public var security: WireSecurity
    /// Counts the connection's frames by type (the daemons' metrics); nothing by default.
    public var frameCounters: WireFrameCounters = .none
    public var eventLoopGroup: any EventLoopGroup
    public var logger: Logger

    public init(
        hello: Hello,
        connectTimeout: Duration = .seconds(10),
        configuration: WireConnectionConfiguration = WireConnectionConfiguration(),
        security: WireSecurity = .plaintext,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        self.hello = hello
        self.connectTimeout = connectTimeout
        self.configuration = configuration
        self.security = security
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// Connects to `host:port` and completes the handshake.
    ///
    /// Throws `.connectFailed` / `.connectTimedOut` (naming `host:port`) when TCP fails, `.peerError` when the
    /// server refused us (e.g. `noCommonVersion`), `.handshakeTimedOut`, `.connectionClosed`, or `.cancelled`
    /// when the calling task is cancelled, which also abandons a connection attempt in progress.
    public func connect(host: String, port: Int) async throws(TransportError) -> WireConnection {
        var logger = self.logger
        logger[transportMetadataKey: .peer] = "\(TransportError.endpoint(host, port))"
        let eventLoop = eventLoopGroup.next()
        guard let bootstrap = ClientBootstrap(validatingGroup: eventLoop) else {
            throw .connectFailed(host: host, port: port, reason: "the event loop group is not a NIOPosix group")
        }
        let attempt = ConnectAttempt(eventLoop: eventLoop)
        let role = HandshakeStateMachine.Role.dialler(hello)
        let configuration = self.configuration
        let security = self.security
        let frameCounters = self.frameCounters
        let sessionLogger = logger

        let configured =
            bootstrap
            .connectTimeout(TimeAmount(connectTimeout))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)

        let establishing: EstablishingConnection
        do {
            establishing = try await withTaskCancellationHandler {
                try await configured.connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try attempt.track(channel)
                        return try EstablishingConnection.install(
                            on: channel,
                            role: role,
                            configuration: configuration,
                            security: security,
                            frameCounters: frameCounters,
                            logger: sessionLogger
                        )
                    }
                }
            } onCancel: {
                attempt.cancel()
            }
        } catch {
            if Task.isCancelled { throw .cancelled }
            if case ChannelError.connectTimeout = error {
                throw .connectTimedOut(host: host, port: port, after: connectTimeout)
            }
            throw .connectFailed(host: host, port: port, reason: Self.describe(error))
        }

        do {
            let peer = try await establishing.waitUntilEstablished()
            let connection = WireConnection(establishing, peer: peer)
            connection.logger.debug("connected")
            return connection
        } catch {
            establishing.channel.close(promise: nil)
            logger.debug("handshake failed", metadata: [TransportMetadataKey.error.rawValue: "\(error)"])
            throw error
        }
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? NIOConnectionError {
            if let dns = error.dnsAError ?? error.dnsAAAAError {
                return "cannot resolve the host: \(dns)"
            }
            if error.connectionErrors.count == 1 {
                return reason(error.connectionErrors[0].error)
            }
            if !error.connectionErrors.isEmpty {
                return error.connectionErrors.map { attempt in
                    let address = attempt.target.ipAddress.map { "\($0):\(attempt.target.port ?? 0)" }
                    return "\(address ?? "\(attempt.target)"): \(reason(attempt.error))"
                }.joined(separator: "; ")
            }
        }
        return reason(error)
    }

    /// A system call's failure as the C library words it ("Connection refused"); NIO's own wording repeats it
    /// inside other text.
    private static func reason(_ error: any Error) -> String {
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)) }
        return "\(error)"
    }
}

/// The channels of one connection attempt, so a cancelled caller can close them (NIO's connect cannot be
/// cancelled otherwise and would run until the connect timeout).
private final class ConnectAttempt: Sendable {
    private struct State {
        var channels: [any Channel] = []
        var cancelled = false
    }

    private let state: NIOLoopBoundBox<State>

    init(eventLoop: any EventLoop) {
        self.state = .makeBoxSendingValue(State(), eventLoop: eventLoop)
    }

    /// Called on the event loop for each channel the bootstrap tries.
    func track(_ channel: any Channel) throws {
        guard !state.value.cancelled else { throw TransportError.cancelled }
        state.value.channels.append(channel)
    }

    func cancel() {
        let state = self.state
        state.eventLoop.execute {
            state.value.cancelled = true
            for channel in state.value.channels {
                channel.close(promise: nil)
            }
        }
    }
}
