import Logging
import NIOCore
import Wire

/// What a listener learns from the dialler's Hello, for the application to decide the Welcome.
struct HelloReceived: Sendable {
    let hello: Hello
    let negotiatedVersion: UInt8
}

/// The last handler of a Wire pipeline: runs `HandshakeStateMachine`'s actions, matches responses to our requests,
/// answers pings, and hands everything else to the inbound sequence. All its state lives on the channel's event
/// loop; `WireConnection` reaches it through a `NIOLoopBound`.
final class WireSessionHandler: ChannelDuplexHandler {
    typealias InboundIn = WireEnvelope
    typealias InboundOut = Never
    typealias OutboundIn = WireEnvelope
    typealias OutboundOut = WireEnvelope

    private var stateMachine: HandshakeStateMachine
    private let configuration: WireConnectionConfiguration
    private var logger: Logger
    private var context: ChannelHandlerContext?
    private var requests = PendingRequests()
    private var inboundSource: WireInboundSequence.Source?
    private var handshakeTimer: Scheduled<Void>?
    private var lingerTimer: Scheduled<Void>?
    /// Why the connection is closing, when something other than an orderly close caused it.
    private var closeReason: TransportError?
    private var tornDown = false
    /// Writes complete in order, so the newest write finishing means every write has.
    private var lastWrite: EventLoopFuture<Void>?
    /// Back-pressure: the inbound buffer is full, and a read was held back because of it.
    private var inboundFull = false
    private var readHeld = false
    /// After sending an Error frame we read and discard until the peer closes or the linger timer fires.
    private var lingering = false

    private let helloReceived: EventLoopPromise<HelloReceived>?
    private let established: EventLoopPromise<WirePeer>

    var helloReceivedFuture: EventLoopFuture<HelloReceived>? { helloReceived?.futureResult }
    var establishedFuture: EventLoopFuture<WirePeer> { established.futureResult }

    init(
        role: HandshakeStateMachine.Role,
        configuration: WireConnectionConfiguration,
        logger: Logger,
        eventLoop: any EventLoop
    ) {
        self.stateMachine = HandshakeStateMachine(role: role, handshakeTimeout: configuration.handshakeTimeout)
        self.configuration = configuration
        self.logger = logger
        if case .listener = role {
            self.helloReceived = eventLoop.makePromise(of: HelloReceived.self)
        } else {
            self.helloReceived = nil
        }
        self.established = eventLoop.makePromise(of: WirePeer.self)
    }

    /// Set once, before the handler joins the pipeline (the sequence's delegate needs the handler first).
    func attach(inboundSource: WireInboundSequence.Source) {
        self.inboundSource = inboundSource
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive {
            start(context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stateMachine.closed()
        tearDown()
        lingerTimer?.cancel()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stateMachine.closed()
        lingerTimer?.cancel()
        tearDown()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        run(stateMachine.received(unwrapInboundIn(data)), context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let wireError = error as? WireError, context.channel.isActive {
            run(stateMachine.decodeFailed(wireError), context: context)
        } else if stateMachine.isClosed {
            // Bytes arriving after a decode error, or the socket failing while we close: nothing left to do.
            logger.trace("ignoring an error on a closing connection", metadata: [key(.error): "\(error)"])
        } else {
            // Socket errors, and a frame cut short because the peer went away: the connection is lost, not abused.
            logger.debug("connection lost", metadata: [key(.error): "\(error)"])
            stateMachine.closed()
            context.close(promise: nil)
        }
    }

    func read(context: ChannelHandlerContext) {
        if inboundFull && !lingering {
            readHeld = true
        } else {
            context.read()
        }
    }

    // MARK: Calls from WireConnection and the server, on the event loop

    func welcomeDecided(_ welcome: Welcome) {
        guard let context else { return }
        run(stateMachine.welcomeDecided(welcome), context: context)
    }

    func welcomeRefused(_ error: ErrorMessage) {
        guard let context else { return }
        run(stateMachine.welcomeRefused(error), context: context)
    }

    func startRequest(_ message: WireMessage, timeout: Duration, promise: EventLoopPromise<WireMessage>) {
        guard let context, let version = stateMachine.negotiatedVersion else {
            promise.fail(TransportError.connectionClosed)
            return
        }
        let id = requests.makeID()
        let timer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(timeout)) {
            self.requestTimedOut(id, after: timeout)
        }
        requests.insert(PendingRequests.Entry(promise: promise, timeout: timer), for: id)
        let written = context.eventLoop.makePromise(of: Void.self)
        write(WireEnvelope(version: version, requestID: id, message: message), promise: written)
        written.futureResult.assumeIsolated().whenFailure { error in
            self.requests.remove(id)?.promise.fail(TransportError(error))
        }
    }

    func cancelRequest(_ promise: EventLoopPromise<WireMessage>) {
        requests.remove(promise: promise)?.promise.fail(TransportError.cancelled)
    }

    func send(_ message: WireMessage, flags: WireFrameFlags, requestID: UInt32, promise: EventLoopPromise<Void>) {
        guard let version = stateMachine.negotiatedVersion else {
            promise.fail(TransportError.connectionClosed)
            return
        }
        write(WireEnvelope(version: version, flags: flags, requestID: requestID, message: message), promise: promise)
    }

    /// Lets queued writes reach the socket, then closes.
    func closeGracefully() {
        guard let context else { return }
        guard !stateMachine.isClosed else {
            // Already closing; an application waiting on us should not wait for the linger timer.
            if lingering { context.close(promise: nil) }
            return
        }
        stateMachine.closed()
        tearDown()
        logger.debug("closing the connection")
        if let lastWrite {
            lastWrite.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        } else {
            context.close(promise: nil)
        }
    }

    func inboundDemandResumed() {
        inboundFull = false
        if readHeld, let context {
            readHeld = false
            context.read()
        }
    }

    func inboundTerminated() {
        // Nobody will consume any more: keep reading so responses and pings still flow; inbound frames are dropped.
        inboundDemandResumed()
    }

    // MARK: Running actions

    private func start(context: ChannelHandlerContext) {
        guard handshakeTimer == nil, !stateMachine.isClosed else { return }
        if let remote = context.channel.remoteAddress {
            logger[transportMetadataKey: .peer] = "\(remote.endpointDescription)"
        }
        handshakeTimer = context.eventLoop.assumeIsolated().scheduleTask(
            in: TimeAmount(configuration.handshakeTimeout)
        ) {
            self.run(self.stateMachine.handshakeTimerFired(), context: context)
        }
        run(stateMachine.start(), context: context)
    }

    private func run(_ action: HandshakeStateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .none:
            break

        case .send(let envelope):
            write(envelope, promise: nil)

        case .decideWelcome(let hello, let version):
            logger.debug(
                "received Hello",
                metadata: [
                    key(.peerNode): "\(hello.nodeName)", key(.peerRole): "\(hello.role)",
                    key(.wireVersion): "\(version)",
                ]
            )
            helloReceived?.succeed(HelloReceived(hello: hello, negotiatedVersion: version))

        case .establish(let version, let greeting, let sending):
            if let sending {
                write(sending, promise: nil)
            }
            handshakeTimer?.cancel()
            let peer = WirePeer(greeting: greeting, version: version, remoteAddress: context.channel.remoteAddress)
            logger[transportMetadataKey: .peerNode] = "\(peer.nodeName)"
            logger[transportMetadataKey: .peerRole] = "\(peer.role)"
            logger[transportMetadataKey: .wireVersion] = "\(version)"
            logger.debug("connection established")
            established.succeed(peer)

        case .deliver(let envelope):
            route(envelope, context: context)

        case .sendErrorAndClose(let envelope, let reason):
            logger.notice("closing the connection after sending an Error frame", metadata: [key(.error): "\(reason)"])
            closeReason = closeReason ?? reason
            tearDown()
            sendThenLinger(envelope, context: context)

        case .close(let reason):
            logger.notice("closing the connection", metadata: [key(.error): "\(reason)"])
            closeReason = closeReason ?? reason
            tearDown()
            context.close(promise: nil)
        }
    }

    private func route(_ envelope: WireEnvelope, context: ChannelHandlerContext) {
        if envelope.isResponse {
            guard let entry = requests.remove(envelope.requestID) else {
                // Usually the answer to a request that timed out or was cancelled.
                logger.debug(
                    "dropping a response that matches no pending request",
                    metadata: [
                        key(.requestID): "\(envelope.requestID)", key(.messageType): "\(envelope.message.type)",
                        key(.issuedByUs): "\(requests.wasIssued(envelope.requestID))",
                    ]
                )
                return
            }
            if case .error(let error) = envelope.message {
                entry.promise.fail(TransportError.peerError(code: error.code, message: error.message))
            } else {
                entry.promise.succeed(envelope.message)
            }
            return
        }
        if case .heartbeat = envelope.message, envelope.requestID != 0 {
            // A ping: answered here, so that liveness never depends on the application reading its inbound.
            var pong = envelope
            pong.flags.insert(.response)
            write(pong, promise: nil)
            return
        }
        guard let inboundSource else { return }
        switch inboundSource.yield(envelope) {
        case .produceMore:
            break
        case .stopProducing:
            inboundFull = true
        case .dropped:
            logger.trace(
                "dropping an inbound envelope nobody consumes",
                metadata: [key(.messageType): "\(envelope.message.type)"]
            )
        }
    }

    private func write(_ envelope: WireEnvelope, promise: EventLoopPromise<Void>?) {
        guard let context else {
            promise?.fail(TransportError.connectionClosed)
            return
        }
        let future = context.writeAndFlush(wrapOutboundOut(envelope))
        lastWrite = future
        future.cascade(to: promise)
    }

    /// Sends the Error frame, closes our output, and keeps reading until the peer closes or the linger timer
    /// fires. Closing outright with unread input would reset the connection and could destroy the Error frame.
    private func sendThenLinger(_ envelope: WireEnvelope, context: ChannelHandlerContext) {
        lingering = true
        inboundDemandResumed()
        let written = context.writeAndFlush(wrapOutboundOut(envelope))
        written.assumeIsolated().whenComplete { _ in
            let outputClosed = context.eventLoop.makePromise(of: Void.self)
            context.close(mode: .output, promise: outputClosed)
            outputClosed.futureResult.assumeIsolated().whenFailure { _ in context.close(promise: nil) }
        }
        lingerTimer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(configuration.errorLingerTimeout))
        {
            context.close(promise: nil)
        }
    }

    private func requestTimedOut(_ id: UInt32, after timeout: Duration) {
        guard let entry = requests.remove(id) else { return }
        logger.debug("request timed out", metadata: [key(.requestID): "\(id)"])
        entry.promise.fail(TransportError.timedOut(after: timeout))
    }

    /// Fails everything still waiting on this connection; runs once, at the first sign of closing.
    private func tearDown() {
        guard !tornDown else { return }
        tornDown = true
        handshakeTimer?.cancel()
        let reason = closeReason ?? .connectionClosed
        requests.failAll(with: reason)
        helloReceived?.fail(reason)
        established.fail(reason)
        switch reason {
        case .peerError, .protocolViolation:
            inboundSource?.finish(reason)
        default:
            inboundSource?.finish()
        }
        // The source's storage keeps its delegate (and so this handler) until the consumer drains it.
        inboundSource = nil
    }

    private func key(_ key: TransportMetadataKey) -> String { key.rawValue }
}
