import NIOCore
import Wire

/// Everything that can go wrong on a Wire connection, as seen by this side.
public enum TransportError: Error, Hashable, Sendable {
    /// The TCP connection to `host:port` could not be made.
    case connectFailed(host: String, port: Int, reason: String)
    /// The TCP connection to `host:port` was not made within the connect timeout.
    case connectTimedOut(host: String, port: Int, after: Duration)
    /// The server could not listen on `host:port`.
    case bindFailed(host: String, port: Int, reason: String)
    /// The server could not adopt an already-open listening socket (systemd socket activation).
    case socketAdoptionFailed(descriptor: NIOBSDSocket.Handle, reason: String)
    /// The peer did not complete the Hello/Welcome exchange in time.
    case handshakeTimedOut(after: Duration)
    /// A request got no response in time.
    case timedOut(after: Duration)
    /// The connection is closed or was lost before the operation completed.
    case connectionClosed
    /// The peer sent an Error frame.
    case peerError(code: ErrorMessage.Code, message: String)
    /// This side refused the peer with an Error frame (no common version, or the application said no).
    case refused(code: ErrorMessage.Code, message: String)
    /// The peer broke the protocol (garbage, an unexpected message, a wrong version); we sent it an Error frame.
    case protocolViolation(String)
    /// The TLS handshake failed, or the peer's certificate was refused (docs/security.md).
    case tlsFailed(String)
    /// The task waiting for the operation was cancelled.
    case cancelled
    /// This side did not send a frame whose payload exceeds the frame limit (the peer would refuse it and close).
    case frameTooLarge(type: WireMessageType?, role: FrameRole, bytes: Int, maximum: Int)

    /// What a frame was to its connection, for messages.
    public enum FrameRole: String, Hashable, Sendable {
        case request
        case reply
        /// Unsolicited (request id 0).
        case message
    }
}

extension TransportError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .connectFailed(let host, let port, let reason):
            return "cannot connect to \(Self.endpoint(host, port)): \(reason)"
        case .connectTimedOut(let host, let port, let after):
            return "connecting to \(Self.endpoint(host, port)) timed out after \(after)"
        case .bindFailed(let host, let port, let reason):
            return "cannot listen on \(Self.endpoint(host, port)): \(reason)"
        case .socketAdoptionFailed(let descriptor, let reason):
            return "cannot listen on inherited socket \(descriptor): \(reason)"
        case .handshakeTimedOut(let after):
            return "the peer did not complete the handshake within \(after)"
        case .timedOut(let after):
            return "no response within \(after)"
        case .connectionClosed:
            return "the connection is closed"
        case .peerError(let code, let message):
            return "the peer reported \(code): \(message)"
        case .refused(let code, let message):
            return "refused the peer (\(code)): \(message)"
        case .protocolViolation(let reason):
            return "protocol violation by the peer: \(reason)"
        case .tlsFailed(let reason):
            return "TLS: \(reason)"
        case .cancelled:
            return "cancelled"
        case .frameTooLarge(let type, let role, let bytes, let maximum):
            let what = type.map { "\($0) \(role.rawValue)" } ?? role.rawValue
            return "\(what) of \(bytes) bytes exceeds the \(WireError.frameLimit(maximum)) frame limit; it was not sent"
        }
    }

    /// `host:port`, with brackets around IPv6 literals.
    static func endpoint(_ host: String, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
