import Wire

/// Thrown by a server's welcome closure to refuse a peer: the peer gets an Error frame with this code and message,
/// then the connection closes. Any other error thrown there is sent as `internalError` without its details.
public struct HandshakeRejection: Error, Hashable, Sendable {
    public var code: ErrorMessage.Code
    public var message: String

    public init(code: ErrorMessage.Code, message: String) {
        self.code = code
        self.message = message
    }
}
