import Logging
import NIOCore
import NIOSSL
import Trust
import Wire

/// What a listener learns from the dialler's Hello, for the application to decide the Welcome.
struct HelloReceived: Sendable {
    let hello: Hello
    let negotiatedVersion: UInt8
}

/// The last handler of a Wire pipeline: runs `HandshakeStateMachine`'s actions, matches responses to our requests,
/// answers pings, and hands everything else to the inbound sequence. All its state lives on the channel's event
/// loop; `WireConnection` reaches it through a `NIOLoopBound`.
///
/// It also keeps a peer from holding more than its share: it stops reading while the application's inbound
/// buffer is full or while the channel is unwritable (the peer does not read what we send, pongs included), closes
/// a connection whose peer takes none of what is queued for it for `outboundStallTimeout`, and, on the listening
/// side, one idle past `idleTimeout`.
final class WireSessionHandler: ChannelDuplexHandler {
    /// Bytes, not envelopes: frames are cut and decoded here rather than by a `ByteToMessageHandler` in front,
    /// which saves a pipeline step and a boxed envelope per frame (10,000 agents send 10,000 frames a second).
    typealias InboundIn = ByteBuffer
    typealias InboundOut = Never
    typealias OutboundIn = WireEnvelope
    typealias OutboundOut = WireEnvelope

    private var stateMachine: HandshakeStateMachine
    private var decoder: WireMessageDecoder
    /// What arrived after the last complete frame: the start of the next one.
    private var undecoded: ByteBuffer?
    private let configuration: WireConnectionConfiguration
    private let isListener: Bool
    /// Listener only: turn the connection away with this Error frame instead of waiting for Hello.
    private let refusal: ErrorMessage?
    /// TLS only: the peer's certificate verdict; every Hello, Welcome and inbound message is checked against it.
    private let security: SessionSecurity?
    /// TLS only: the peer's certificate once its Hello or Welcome matched it.
    private var peerCertificate: CertificateIdentity?
    private var logger: Logger
    private let frameCounters: WireFrameCounters
    private var context: ChannelHandlerContext?
    private var requests = PendingRequests()
    private var inboundSource: WireInboundSequence.Source?
    /// Takes some pushes here, on the event loop, instead of the inbound sequence (`WireConnection.tapPushes`).
    private var pushTap: WirePushTap?
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
    /// Back-pressure the other way: the peer does not read what we write; reading waits until it does.
    private var outboundStalled = false
    /// Writes not yet handed to the socket, and when the last one was (or when the queue started).
    private var writesInFlight = 0
    private var lastWriteProgress = NIODeadline.now()
    private var stallTimer: Scheduled<Void>?
    /// Idle detection (listener only): the last complete frame received or response sent, and the peer's
    /// requests delivered to the application and not answered yet.
    private var idleTimer: Scheduled<Void>?
    private var lastActivity = NIODeadline.now()
    private var requestsBeingAnswered = 0
    /// After sending an Error frame we read and discard until the peer closes or the linger timer fires.
    private var lingering = false

    private let helloReceived: EventLoopPromise<HelloReceived>?
    private let established: EventLoopPromise<WirePeer>

    var helloReceivedFuture: EventLoopFuture<HelloReceived>? { helloReceived?.futureResult }
    var establishedFuture: EventLoopFuture<WirePeer> { established.futureResult }

    init(
        role: HandshakeStateMachine.Role,
        configuration: WireConnectionConfiguration,
        refusal: ErrorMessage? = nil,
        security: SessionSecurity? = nil,
        frameCounters: WireFrameCounters = .none,
        logger: Logger,
        eventLoop: any EventLoop
    ) {
        self.frameCounters = frameCounters
        self.stateMachine = HandshakeStateMachine(role: role, handshakeTimeout: configuration.handshakeTimeout)
        self.decoder = WireMessageDecoder(maximumPayloadLength: configuration.maximumPayloadLength)
        self.configuration = configuration
        self.refusal = refusal
        self.security = security
        self.logger = logger
        if case .listener = role {
            self.isListener = true
            self.helloReceived = eventLoop.makePromise(of: HelloReceived.self)
        } else {
            self.isListener = false
            self.helloReceived = nil
        }
        self.established = eventLoop.makePromise(of: WirePeer.self)
    }

    /// Set once, before the handler joins the pipeline (the sequence's delegate needs the handler first).
    func attach(inboundSource: WireInboundSequence.Source) {
        self.inboundSource = inboundSource
    }

    func setPushTap(_ tap: @escaping WirePushTap) {
        pushTap = tap
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
        // Closed, lingering after an Error frame, or past a malformed frame: whatever comes is discarded.
        guard !stateMachine.isClosed else { return }
        var bytes = unwrapInboundIn(data)
        if undecoded == nil {
            undecoded = bytes
        } else {
            undecoded!.writeBuffer(&bytes)
        }
        // Each envelope may close the connection (an Error frame, a refusal): the frames after it are not read.
        while !stateMachine.isClosed, undecoded != nil {
            let envelope: WireEnvelope?
            do throws(WireError) {
                envelope = try decoder.nextEnvelope(from: &undecoded!)
            } catch {
                undecoded = nil
                frameCounters.decodeFailed(error)
                run(stateMachine.decodeFailed(error), context: context)
                return
            }
            guard let envelope else { break }
            lastActivity = .now()
            frameCounters.received(envelope.message.type)
            run(stateMachine.received(envelope), context: context)
        }
        if let buffered = undecoded {
            if buffered.readableBytes == 0 || stateMachine.isClosed {
                undecoded = nil
            } else if buffered.readerIndex >= 4096 {
                undecoded!.discardReadBytes()
            }
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        outboundStalled = !context.channel.isWritable
        resumeReadingIfAllowed()
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if stateMachine.isClosed {
            // Bytes arriving after a decode error, or the socket failing while we close: nothing left to do.
            logger.trace("ignoring an error on a closing connection", metadata: [key(.error): "\(error)"])
        } else if security != nil, error is NIOSSLError || error is BoringSSLError {
            let reason = tlsFailure(error)
            logger.notice("the TLS handshake failed", metadata: [key(.error): "\(reason)"])
            closeReason = closeReason ?? .tlsFailed(reason)
            stateMachine.closed()
            context.close(promise: nil)
        } else {
            // Socket errors, and a frame cut short because the peer went away: the connection is lost, not abused.
            logger.debug("connection lost", metadata: [key(.error): "\(error)"])
            stateMachine.closed()
            context.close(promise: nil)
        }
    }

    func read(context: ChannelHandlerContext) {
        if mayRead {
            context.read()
        } else {
            readHeld = true
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
        if flags.contains(.response) {
            requestsBeingAnswered = max(0, requestsBeingAnswered - 1)
            lastActivity = .now()
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
        resumeReadingIfAllowed()
    }

    func inboundTerminated() {
        // Nobody will consume any more: keep reading so responses and pings still flow; inbound frames are dropped.
        inboundDemandResumed()
    }

    // MARK: Back-pressure and limits

    /// Lingering reads and discards whatever comes; otherwise reading waits for both directions to drain.
    private var mayRead: Bool { lingering || (!inboundFull && !outboundStalled) }

    private func resumeReadingIfAllowed() {
        guard readHeld, mayRead, let context else { return }
        readHeld = false
        context.read()
    }

    private func scheduleStallCheck(in delay: TimeAmount, context: ChannelHandlerContext) {
        stallTimer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
            self.stallCheck(context: context)
        }
    }

    private func stallCheck(context: ChannelHandlerContext) {
        stallTimer = nil
        guard writesInFlight > 0, !stateMachine.isClosed else { return }
        let timeout = TimeAmount(configuration.outboundStallTimeout)
        let waited = NIODeadline.now() - lastWriteProgress
        guard waited >= timeout else {
            scheduleStallCheck(in: timeout - waited, context: context)
            return
        }
        let queued = try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)
        logger.notice(
            "closing the connection: the peer does not read what is sent to it",
            metadata: [
                key(.queuedBytes): "\(queued.map { "\($0)" } ?? "unknown")",
                key(.timeout): "\(configuration.outboundStallTimeout)",
            ]
        )
        closeNow(context: context)
    }

    private func scheduleIdleCheck(in delay: TimeAmount, context: ChannelHandlerContext) {
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
            self.idleCheck(context: context)
        }
    }

    private func idleCheck(context: ChannelHandlerContext) {
        idleTimer = nil
        guard let idleTimeout = configuration.idleTimeout, !stateMachine.isClosed else { return }
        let timeout = TimeAmount(idleTimeout)
        let quiet = NIODeadline.now() - lastActivity
        if requestsBeingAnswered > 0 {
            // The peer waits for us, it is not idle.
            scheduleIdleCheck(in: timeout, context: context)
        } else if quiet < timeout {
            scheduleIdleCheck(in: timeout - quiet, context: context)
        } else {
            logger.notice("closing an idle connection", metadata: [key(.timeout): "\(idleTimeout)"])
            closeNow(context: context)
        }
    }

    /// Closes at once: what is still queued for a peer that does not read, or is idle, is not worth waiting for.
    private func closeNow(context: ChannelHandlerContext) {
        stateMachine.closed()
        tearDown()
        context.close(promise: nil)
    }

    // MARK: Running actions

    private func start(context: ChannelHandlerContext) {
        guard handshakeTimer == nil, !stateMachine.isClosed else { return }
        if let remote = context.channel.remoteAddress {
            logger[transportMetadataKey: .peer] = "\(remote.endpointDescription)"
        }
        if let refusal {
            // Turned away before the handshake; the server has logged why, once for the whole run of refusals.
            run(stateMachine.refuse(refusal), context: context)
            return
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
            if let security {
                switch security.admit(.hello(hello)) {
                case .success(let identity):
                    peerCertificate = identity
                    logger[transportMetadataKey: .peerCertificate] = "\(identity)"
                case .failure(let refusal):
                    logRefusal(refusal, tried: "connect as \(hello.role) '\(hello.agent?.hostID ?? hello.nodeName)'")
                    run(stateMachine.welcomeRefused(ErrorMessage(code: .untrusted, message: refusal.reason)), context: context)
                    return
                }
            }
            logger.debug(
                "received Hello",
                metadata: [
                    key(.peerNode): "\(hello.nodeName)", key(.peerRole): "\(hello.role)",
                    key(.wireVersion): "\(version)",
                ]
            )
            helloReceived?.succeed(HelloReceived(hello: hello, negotiatedVersion: version))

        case .establish(let version, let greeting, let sending):
            if let security, !security.isListener {
                switch security.admit(greeting) {
                case .success(let identity):
                    peerCertificate = identity
                    logger[transportMetadataKey: .peerCertificate] = "\(identity)"
                case .failure(let refusal):
                    logRefusal(refusal, tried: "serve this connection")
                    run(.close(reason: .tlsFailed("refused the server: \(refusal.reason)")), context: context)
                    return
                }
            }
            if let sending {
                write(sending, promise: nil)
            }
            handshakeTimer?.cancel()
            let peer = WirePeer(
                greeting: greeting,
                version: version,
                remoteAddress: context.channel.remoteAddress,
                certificate: peerCertificate
            )
            logger[transportMetadataKey: .peerNode] = "\(peer.nodeName)"
            logger[transportMetadataKey: .peerRole] = "\(peer.role)"
            logger[transportMetadataKey: .wireVersion] = "\(version)"
            logger.debug("connection established")
            if isListener, configuration.idleTimeout != nil {
                lastActivity = .now()
                idleCheck(context: context)
            }
            established.succeed(peer)

        case .deliver(let envelope):
            route(envelope, context: context)

        case .sendErrorAndClose(let envelope, let reason):
            logger.log(
                level: refusal == nil ? .notice : .debug,
                "closing the connection after sending an Error frame",
                metadata: [key(.error): "\(reason)"]
            )
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
        if let security {
            // Refuses rather than trusts when no certificate was admitted (cannot happen after the handshake).
            let refusal =
                peerCertificate.map { security.refusal(of: envelope.message, from: $0) }
                ?? SessionSecurity.Refusal(identity: nil, reason: "no admitted certificate")
            if let refusal {
                refuse(envelope, refusal, context: context)
                return
            }
        }
        if envelope.requestID == 0, let pushTap, pushTap(envelope.message) { return }
        guard let inboundSource else { return }
        let result = inboundSource.yield(envelope)
        if envelope.requestID != 0, result != .dropped {
            requestsBeingAnswered += 1
        }
        switch result {
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

    /// A message the peer's certificate may not send: an Error frame answers it (a request fails alone; an
    /// unsolicited message, or a certificate revoked since the handshake, closes the connection).
    private func refuse(_ envelope: WireEnvelope, _ refusal: SessionSecurity.Refusal, context: ChannelHandlerContext) {
        logRefusal(refusal, tried: "send \(WireAuthorization.describe(envelope.message))")
        frameCounters.refused(envelope.message.type)
        let code: ErrorMessage.Code = refusal.closes ? .untrusted : .forbidden
        let error = WireEnvelope(
            version: envelope.version,
            flags: envelope.requestID != 0 ? .response : [],
            requestID: envelope.requestID,
            message: .error(ErrorMessage(code: code, message: refusal.reason))
        )
        if envelope.requestID != 0, !refusal.closes {
            write(error, promise: nil)
            return
        }
        stateMachine.closed()
        closeReason = closeReason ?? .refused(code: code, message: refusal.reason)
        tearDown()
        sendThenLinger(error, context: context)
    }

    private func logRefusal(_ refusal: SessionSecurity.Refusal, tried: String) {
        var metadata: Logger.Metadata = [key(.error): "\(refusal.reason)", "torpor.tried": "\(tried)"]
        if let identity = refusal.identity {
            metadata[key(.peerCertificate)] = "\(identity)"
        }
        logger.notice("refused the peer", metadata: metadata)
    }

    /// Why the TLS handshake failed, naming our verdict on the peer's certificate when we refused it.
    private func tlsFailure(_ error: any Error) -> String {
        if let verdict = security?.verdict, case .refused(let identity, let serial, let reason) = verdict {
            let named = identity.map { "\($0)" } ?? serial.map { "serial \($0)" } ?? "its certificate"
            return "refused the peer's certificate \(named): \(reason)"
        }
        if security?.verdict == nil, security?.isListener == false {
            return "the handshake failed before the server's certificate was checked (\(error)); is it a plaintext server?"
        }
        return "the handshake failed (\(error)); the peer may have refused our certificate"
    }

    private func write(_ envelope: WireEnvelope, promise: EventLoopPromise<Void>?) {
        guard let context else {
            promise?.fail(TransportError.connectionClosed)
            return
        }
        frameCounters.sent(envelope.message.type)
        let future = context.writeAndFlush(wrapOutboundOut(envelope))
        lastWrite = future
        writesInFlight += 1
        if writesInFlight == 1 {
            lastWriteProgress = .now()
        }
        if stallTimer == nil, !stateMachine.isClosed {
            scheduleStallCheck(in: TimeAmount(configuration.outboundStallTimeout), context: context)
        }
        future.assumeIsolated().whenComplete { _ in
            self.writesInFlight -= 1
            self.lastWriteProgress = .now()
        }
        future.cascade(to: promise)
    }

    /// Sends the Error frame, closes our output, and keeps reading until the peer closes or the linger timer
    /// fires. Closing outright with unread input would reset the connection and could destroy the Error frame.
    private func sendThenLinger(_ envelope: WireEnvelope, context: ChannelHandlerContext) {
        lingering = true
        inboundDemandResumed()
        frameCounters.sent(envelope.message.type)
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
        idleTimer?.cancel()
        stallTimer?.cancel()
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
