import Logging
import NIOCore
import Wire

/// Takes a push on the connection's event loop (`WireConnection.tapPushes`): true when it handled the message.
public typealias WirePushTap = @Sendable (WireMessage) -> Bool

/// One established Wire connection, on either side.
///
/// Requests get increasing request ids and are matched to the frame that carries the `.response` flag and the same
/// id. Everything else the peer sends arrives on `inbound`, except Heartbeat requests (pings), which the connection
/// answers itself with the same Heartbeat as a response. An Error frame answering a request fails that request with
/// `TransportError.peerError`; an unsolicited Error frame closes the connection and fails every pending request
/// with it. When the connection is lost, pending requests fail with `TransportError.connectionClosed`.
public final class WireConnection: Sendable {
    /// The peer's Hello or Welcome, the negotiated version and the remote address.
    public let peer: WirePeer
    /// Requests and pushes from the peer; see `WireInboundSequence` (single consumer, back-pressured).
    public let inbound: WireInboundSequence
    /// Carries the connection's metadata (`torpor.peer`, `torpor.peer_node`, ...).
    public let logger: Logger
    /// The limits this connection was set up with.
    public let configuration: WireConnectionConfiguration

    private let channel: any Channel
    private let session: NIOLoopBound<WireSessionHandler>

    init(_ establishing: EstablishingConnection, peer: WirePeer) {
        self.peer = peer
        self.inbound = establishing.inbound
        self.channel = establishing.channel
        self.session = establishing.session
        self.configuration = establishing.configuration
        var logger = establishing.logger
        logger[transportMetadataKey: .peer] = peer.remoteAddress.map { "\($0.endpointDescription)" } ?? "unknown"
        logger[transportMetadataKey: .peerNode] = "\(peer.nodeName)"
        logger[transportMetadataKey: .peerRole] = "\(peer.role)"
        self.logger = logger
    }

    /// The protocol version every frame on this connection carries.
    public var version: UInt8 { peer.version }

    public var remoteAddress: SocketAddress? { peer.remoteAddress }

    /// False once the connection has closed, for whatever reason.
    public var isOpen: Bool { channel.isActive }

    /// Sends `message` as a request and waits for the response with the same request id.
    ///
    /// Throws `.timedOut(after:)` when no response came in time (a late response is dropped), `.peerError` when
    /// the peer answered with an Error frame, `.connectionClosed` when the connection went away, and `.cancelled`
    /// when the calling task was cancelled.
    public func request(_ message: WireMessage, timeout: Duration) async throws(TransportError) -> WireMessage {
        guard !Task.isCancelled else { throw .cancelled }
        let session = self.session
        let promise = channel.eventLoop.makePromise(of: WireMessage.self)
        session.eventLoop.execute { session.value.startRequest(message, timeout: timeout, promise: promise) }
        do {
            // The cancel is queued after the start on the same event loop, so it always finds the request.
            return try await withTaskCancellationHandler {
                try await promise.futureResult.get()
            } onCancel: {
                session.eventLoop.execute { session.value.cancelRequest(promise) }
            }
        } catch {
            throw TransportError(error)
        }
    }

    /// Sends an unsolicited message (request id 0). Returns once the frame has been handed to the socket.
    public func send(_ message: WireMessage) async throws(TransportError) {
        try await write(message, flags: [], requestID: 0)
    }

    /// Sends an unsolicited message marked ignorable: a peer that does not know its type drops it instead of
    /// closing the connection (for message types newer than the protocol version).
    public func sendIgnorable(_ message: WireMessage) async throws(TransportError) {
        try await write(message, flags: .ignorable, requestID: 0)
    }

    /// From now on, hands each push the peer sends (request id 0) to `tap` on the connection's event loop first;
    /// a push `tap` returns true for is taken and never reaches `inbound`. For messages so frequent that waking
    /// the consuming task for each costs more than handling it: `tap` must be quick and must not block. Pushes
    /// already waiting in `inbound` stay there.
    public func tapPushes(_ tap: @escaping WirePushTap) async {
        let session = self.session
        try? await session.eventLoop.submit { session.value.setPushTap(tap) }.get()
    }

    /// Answers the peer's request `requestID` (from an inbound envelope) with `message`.
    public func reply(to requestID: UInt32, with message: WireMessage) async throws(TransportError) {
        try await write(message, flags: .response, requestID: requestID)
    }

    /// Closes gracefully: frames already sent reach the socket first. Pending requests fail with
    /// `.connectionClosed` and `inbound` ends. Returns once the connection is closed.
    public func close() async {
        let session = self.session
        session.eventLoop.execute { session.value.closeGracefully() }
        await waitUntilClosed()
    }

    /// Returns once the connection is closed, by either side.
    public func waitUntilClosed() async {
        try? await channel.closeFuture.get()
    }

    private func write(_ message: WireMessage, flags: WireFrameFlags, requestID: UInt32) async throws(TransportError) {
        let session = self.session
        let promise = channel.eventLoop.makePromise(of: Void.self)
        session.eventLoop.execute {
            session.value.send(message, flags: flags, requestID: requestID, promise: promise)
        }
        do {
            try await promise.futureResult.get()
        } catch {
            throw TransportError(error)
        }
    }
}
