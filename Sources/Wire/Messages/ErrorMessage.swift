import NIOCore

/// A protocol-level error; the sender closes the connection after it unless the code says otherwise.
/// Layout frozen across versions, like Hello.
public struct ErrorMessage: WirePayload {
    public static let messageType = WireMessageType.error

    /// Open set of codes so a newer peer's codes decode too.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }

        public static let malformedFrame = Code(rawValue: 1)
        public static let noCommonVersion = Code(rawValue: 2)
        public static let unexpectedMessage = Code(rawValue: 3)
        public static let internalError = Code(rawValue: 4)
        public static let unsupported = Code(rawValue: 5)
        /// The peer's identity is taken: an agent's host id already has a live connection.
        public static let conflict = Code(rawValue: 6)
        /// A handshake value decoded but is unusable (`WireValidationError`), e.g. an empty host id.
        public static let invalidValue = Code(rawValue: 7)
        /// The peer is at one of its limits (connections, requests at once); try again later. Sent as the
        /// response to a request, it fails only that request and the connection stays open.
        public static let busy = Code(rawValue: 8)
        /// The peer's certificate is not trusted (another CA, expired, revoked) or does not match its Hello; the
        /// connection closes (docs/security.md).
        public static let untrusted = Code(rawValue: 9)
        /// The peer's certificate role may not send this message (docs/security.md). Sent as the response to a
        /// request, it fails only that request.
        public static let forbidden = Code(rawValue: 10)
        /// A standby manager was sent something only the elected leader does; the message names the leader (or says
        /// none is elected yet) and nothing changed (docs/ha.md). Ask LeaderQuery and go to the leader.
        public static let notLeader = Code(rawValue: 11)

        public var description: String {
            switch self {
            case .malformedFrame: "malformedFrame"
            case .noCommonVersion: "noCommonVersion"
            case .unexpectedMessage: "unexpectedMessage"
            case .internalError: "internalError"
            case .unsupported: "unsupported"
            case .conflict: "conflict"
            case .invalidValue: "invalidValue"
            case .busy: "busy"
            case .untrusted: "untrusted"
            case .forbidden: "forbidden"
            case .notLeader: "notLeader"
            default: "code\(rawValue)"
            }
        }
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(code.rawValue)
        buffer.writeWireString(message)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> ErrorMessage {
        let code = Code(rawValue: try buffer.readWireInteger(messageType, "code"))
        let message = try buffer.readWireString(messageType, "message")
        return ErrorMessage(code: code, message: message)
    }
}
