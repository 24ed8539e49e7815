import NIOCore

/// The answer to a VMCommand or PowerCommand, sent as a response with the command's request id.
public struct CommandResult: WirePayload {
    public static let messageType = WireMessageType.commandResult

    /// Open set of error codes; 0 means success.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }

        public static let ok = Code(rawValue: 0)
        public static let notFound = Code(rawValue: 1)
        public static let invalidArgument = Code(rawValue: 2)
        public static let hypervisorError = Code(rawValue: 3)
        public static let commandFailed = Code(rawValue: 4)
        public static let timedOut = Code(rawValue: 5)
        public static let busy = Code(rawValue: 6)
        public static let unsupported = Code(rawValue: 7)
        public static let internalError = Code(rawValue: 8)
        /// The name or UUID is already taken.
        public static let conflict = Code(rawValue: 9)
        /// Local to the sender, never sent by an agent: the command may not have reached its peer (not connected,
        /// or the connection failed before an answer), so nothing is known to have happened.
        public static let notDelivered = Code(rawValue: 10)
        /// The agent cannot reach its hypervisor (libvirtd stopped, or restarting): nothing was done, so the
        /// command may go to another host.
        public static let hypervisorUnavailable = Code(rawValue: 11)

        public var description: String {
            switch self {
            case .ok: "ok"
            case .notFound: "notFound"
            case .invalidArgument: "invalidArgument"
            case .hypervisorError: "hypervisorError"
            case .commandFailed: "commandFailed"
            case .timedOut: "timedOut"
            case .busy: "busy"
            case .unsupported: "unsupported"
            case .internalError: "internalError"
            case .conflict: "conflict"
            case .notDelivered: "notDelivered"
            case .hypervisorUnavailable: "hypervisorUnavailable"
            default: "code\(rawValue)"
            }
        }
    }

    public var code: Code
    /// Human-readable outcome; for failures it names what failed.
    public var message: String
    /// Extra output (e.g. a power command's stderr); may be empty.
    public var detail: String

    public init(code: Code, message: String, detail: String = "") {
        self.code = code
        self.message = message
        self.detail = detail
    }

    public static func ok(_ message: String = "") -> CommandResult { CommandResult(code: .ok, message: message) }

    public var isOK: Bool { code == .ok }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(code.rawValue)
        buffer.writeWireString(message)
        buffer.writeWireLongString(detail)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> CommandResult {
        let code = Code(rawValue: try buffer.readWireInteger(messageType, "code"))
        let message = try buffer.readWireString(messageType, "message")
        let detail = try buffer.readWireLongString(messageType, "detail")
        return CommandResult(code: code, message: message, detail: detail)
    }
}
