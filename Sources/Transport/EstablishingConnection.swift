import Logging
import NIOCore
import Wire

/// A channel with the Wire pipeline installed whose handshake has not finished yet.
///
/// The pipeline is the outbound frame size guard, `MessageToByteHandler(WireMessageEncoder)` and the session,
/// which cuts and decodes inbound frames itself (`WireSessionHandler`); with TLS, `NIOSSLServerHandler` or
/// `NIOSSLClientHandler` comes first.
struct EstablishingConnection: Sendable {
    let channel: any Channel
    let session: NIOLoopBound<WireSessionHandler>
    let inbound: WireInboundSequence
    /// Listener only: the dialler's Hello, for the application to decide the Welcome.
    let helloReceived: EventLoopFuture<HelloReceived>?
    let established: EventLoopFuture<WirePeer>
    let configuration: WireConnectionConfiguration
    let logger: Logger

    /// Installs the pipeline; call on the channel's event loop, before the channel is active. A listener that
    /// passes `refusal` sends it as an Error frame instead of waiting for Hello, and closes.
    static func install(
        on channel: any Channel,
        role: HandshakeStateMachine.Role,
        configuration: WireConnectionConfiguration,
        refusal: ErrorMessage? = nil,
        security: WireSecurity = .plaintext,
        frameCounters: WireFrameCounters = .none,
        logger: Logger
    ) throws -> EstablishingConnection {
        var sessionSecurity: SessionSecurity?
        if let tls = security.tls {
            let isListener = if case .listener = role { true } else { false }
            sessionSecurity = try SessionSecurity.install(tls, isListener: isListener, on: channel)
        }
        let handler = WireSessionHandler(
            role: role,
            configuration: configuration,
            refusal: refusal,
            security: sessionSecurity,
            frameCounters: frameCounters,
            logger: logger,
            eventLoop: channel.eventLoop
        )
        // Above the high mark the channel turns unwritable and the session stops reading (WireSessionHandler).
        let high = configuration.outboundBufferHighWatermark
        try channel.syncOptions?.setOption(.writeBufferWaterMark, value: .init(low: high / 2, high: high))
        let session = NIOLoopBound(handler, eventLoop: channel.eventLoop)
        let (inbound, source) = WireInboundSequence.make(session: session, configuration: configuration)
        handler.attach(inboundSource: source)
        try channel.pipeline.syncOperations.addHandlers(
            WireFrameSizeGuard(maximumPayloadLength: configuration.maximumPayloadLength, logger: logger),
            MessageToByteHandler(WireMessageEncoder()),
            handler
        )
        return EstablishingConnection(
            channel: channel,
            session: session,
            inbound: inbound,
            helloReceived: handler.helloReceivedFuture,
            established: handler.establishedFuture,
            configuration: configuration,
            logger: logger
        )
    }

    /// Waits for the handshake; cancelling the waiting task closes the channel.
    func waitUntilEstablished() async throws(TransportError) -> WirePeer {
        let channel = self.channel
        do {
            return try await withTaskCancellationHandler {
                try await established.get()
            } onCancel: {
                channel.close(promise: nil)
            }
        } catch {
            throw Task.isCancelled ? .cancelled : TransportError(error)
        }
    }

    /// Listener only: waits for the dialler's Hello; cancelling the waiting task closes the channel.
    func waitForHello() async throws(TransportError) -> HelloReceived {
        guard let helloReceived else { preconditionFailure("only a listener waits for Hello") }
        let channel = self.channel
        do {
            return try await withTaskCancellationHandler {
                try await helloReceived.get()
            } onCancel: {
                channel.close(promise: nil)
            }
        } catch {
            throw Task.isCancelled ? .cancelled : TransportError(error)
        }
    }
}

extension TransportError {
    /// Our own errors pass through; anything else from NIO means the channel is gone.
    init(_ error: any Error) {
        self = (error as? TransportError) ?? .connectionClosed
    }
}
