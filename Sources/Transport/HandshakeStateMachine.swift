import Wire

/// The session rules of a Wire connection, with no I/O: events in, actions out. `WireSessionHandler` runs the
/// actions.
///
/// The dialler sends Hello first; the listener answers Welcome with the highest common version (the application
/// decides the rest of the Welcome), or Error(noCommonVersion) and closes. Hello, Welcome and handshake errors
/// travel in version-1 frames, whose layout is frozen, so peers of any version can negotiate. After the handshake
/// every frame must carry the negotiated version. Whatever the peer gets wrong earns it an Error frame and a
/// closed connection, never a crash.
public struct HandshakeStateMachine: Sendable {
    public enum Role: Hashable, Sendable {
        /// Sends this Hello first and waits for Welcome.
        case dialler(Hello)
        /// Waits for Hello and negotiates among these versions.
        case listener(supportedVersions: [UInt8])
    }

    public enum Action: Hashable, Sendable {
        case none
        /// Write this frame.
        case send(WireEnvelope)
        /// Ask the application for the Welcome to answer this Hello with; answer with `welcomeDecided` or
        /// `welcomeRefused`.
        case decideWelcome(Hello, negotiatedVersion: UInt8)
        /// The handshake is complete; write `sending` first when present (the listener's Welcome).
        case establish(version: UInt8, peer: WirePeer.Greeting, sending: WireEnvelope?)
        /// An established-session frame for the application (or for request matching).
        case deliver(WireEnvelope)
        /// Write this Error frame, then close; `reason` is what this side reports locally.
        case sendErrorAndClose(WireEnvelope, reason: TransportError)
        /// Close without writing anything.
        case close(reason: TransportError)
    }

    private enum State: Hashable, Sendable {
        case idle
        case awaitingWelcome(Hello)
        case awaitingHello(supportedVersions: [UInt8])
        case decidingWelcome(Hello, version: UInt8)
        case established(version: UInt8)
        case closed
    }

    private let role: Role
    private let handshakeTimeout: Duration
    private var state: State = .idle

    public init(role: Role, handshakeTimeout: Duration) {
        self.role = role
        self.handshakeTimeout = handshakeTimeout
    }

    public var negotiatedVersion: UInt8? {
        if case .established(let version) = state { return version }
        return nil
    }

    public var isEstablished: Bool { negotiatedVersion != nil }

    public var isClosed: Bool { state == .closed }

    /// The connection is up (TCP connected, or accepted).
    public mutating func start() -> Action {
        guard case .idle = state else { return .none }
        switch role {
        case .dialler(let hello):
            state = .awaitingWelcome(hello)
            return .send(WireEnvelope(version: WireVersion.v1, message: .hello(hello)))
        case .listener(let supportedVersions):
            state = .awaitingHello(supportedVersions: supportedVersions)
            return .none
        }
    }

    public mutating func received(_ envelope: WireEnvelope) -> Action {
        switch state {
        case .idle:
            return unexpected(envelope, in: "idle")

        case .awaitingHello(let supportedVersions):
            switch envelope.message {
            case .hello(let hello):
                guard let version = WireVersion.negotiate(local: supportedVersions, remote: hello.supportedVersions)
                else {
                    let text = WireError.noCommonVersion(local: supportedVersions, remote: hello.supportedVersions)
                        .description
                    return sendErrorAndClose(
                        ErrorMessage(code: .noCommonVersion, message: text),
                        reason: .refused(code: .noCommonVersion, message: text)
                    )
                }
                state = .decidingWelcome(hello, version: version)
                return .decideWelcome(hello, negotiatedVersion: version)
            case .error(let error):
                state = .closed
                return .close(reason: .peerError(code: error.code, message: error.message))
            default:
                return unexpected(envelope, in: "awaitingHello")
            }

        case .awaitingWelcome(let hello):
            switch envelope.message {
            case .welcome(let welcome):
                guard hello.supportedVersions.contains(welcome.version) else {
                    let text = "Welcome chose version \(welcome.version), this side speaks \(hello.supportedVersions)"
                    return sendErrorAndClose(
                        ErrorMessage(code: .noCommonVersion, message: text),
                        reason: .protocolViolation(text)
                    )
                }
                state = .established(version: welcome.version)
                return .establish(version: welcome.version, peer: .welcome(welcome), sending: nil)
            case .error(let error):
                state = .closed
                return .close(reason: .peerError(code: error.code, message: error.message))
            default:
                return unexpected(envelope, in: "awaitingWelcome")
            }

        case .decidingWelcome:
            // The dialler must wait for Welcome before it sends anything else.
            return unexpected(envelope, in: "decidingWelcome")

        case .established(let version):
            guard envelope.version == version else {
                let text = "frame version \(envelope.version) differs from the negotiated version \(version)"
                return sendErrorAndClose(
                    ErrorMessage(code: .malformedFrame, message: text),
                    reason: .protocolViolation(text)
                )
            }
            switch envelope.message {
            case .hello, .welcome:
                return unexpected(envelope, in: "established")
            case .error(let error) where !envelope.isResponse:
                // A connection-level error: the peer closes after it, and so do we.
                state = .closed
                return .close(reason: .peerError(code: error.code, message: error.message))
            default:
                return .deliver(envelope)
            }

        case .closed:
            return .none
        }
    }

    /// The application chose the Welcome for the pending Hello. Its `version` is replaced by the negotiated one.
    public mutating func welcomeDecided(_ welcome: Welcome) -> Action {
        guard case .decidingWelcome(let hello, let version) = state else { return .none }
        var welcome = welcome
        welcome.version = version
        state = .established(version: version)
        return .establish(
            version: version,
            peer: .hello(hello),
            sending: WireEnvelope(version: WireVersion.v1, message: .welcome(welcome))
        )
    }

    /// The application refused the pending Hello.
    public mutating func welcomeRefused(_ error: ErrorMessage) -> Action {
        guard case .decidingWelcome = state else { return .none }
        return sendErrorAndClose(error, reason: .refused(code: error.code, message: error.message))
    }

    /// The listener turns the connection away before the handshake (it serves as many as it may): the dialler
    /// gets this Error frame instead of a Welcome.
    public mutating func refuse(_ error: ErrorMessage) -> Action {
        switch state {
        case .idle, .awaitingHello:
            return sendErrorAndClose(error, reason: .refused(code: error.code, message: error.message))
        case .awaitingWelcome, .decidingWelcome, .established, .closed:
            return .none
        }
    }

    /// The frame decoder failed: the byte stream cannot be trusted any more.
    public mutating func decodeFailed(_ error: WireError) -> Action {
        if case .closed = state { return .none }
        return sendErrorAndClose(
            ErrorMessage(code: .malformedFrame, message: error.description),
            reason: .protocolViolation(error.description)
        )
    }

    /// The handshake timer fired; harmless once established.
    public mutating func handshakeTimerFired() -> Action {
        switch state {
        case .idle, .awaitingHello, .awaitingWelcome, .decidingWelcome:
            state = .closed
            return .close(reason: .handshakeTimedOut(after: handshakeTimeout))
        case .established, .closed:
            return .none
        }
    }

    /// This side closes (gracefully) or the channel went away: nothing is accepted any more.
    public mutating func closed() {
        state = .closed
    }

    private mutating func unexpected(_ envelope: WireEnvelope, in stateName: String) -> Action {
        let text = WireError.unexpectedMessage(envelope.message.type, state: stateName).description
        return sendErrorAndClose(
            ErrorMessage(code: .unexpectedMessage, message: text),
            reason: .protocolViolation(text)
        )
    }

    private mutating func sendErrorAndClose(_ error: ErrorMessage, reason: TransportError) -> Action {
        let version = negotiatedVersion ?? WireVersion.v1
        state = .closed
        return .sendErrorAndClose(WireEnvelope(version: version, message: .error(error)), reason: reason)
    }
}
