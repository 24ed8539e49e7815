import NIOCore

/// Everything that can be wrong with bytes received from a peer. Each case names the problem precisely
/// enough to log it and to send back in an error frame; none of them is ever a crash.
public enum WireError: Error, Hashable, Sendable {
    /// The first two bytes of a frame are not `WireFrameHeader.magic`.
    case badMagic(UInt16)
    /// The frame's protocol version is not one this build understands.
    case unknownVersion(UInt8, supported: ClosedRange<UInt8>)
    /// The payload length in the header exceeds the configured maximum frame length.
    case frameTooLarge(length: UInt32, maximum: Int)
    /// The message type byte names no message this build knows (and the frame is not marked ignorable).
    case unknownMessageType(UInt8)
    /// A field ran past the end of the payload.
    case truncated(message: WireMessageType, field: String)
    /// A payload decoded completely but bytes were left over.
    case trailingBytes(message: WireMessageType, count: Int)
    /// A string field is not valid UTF-8.
    case invalidUTF8(message: WireMessageType, field: String)
    /// An enum-like field carries a value with no meaning.
    case invalidValue(message: WireMessageType, field: String, value: UInt64)
    /// A count field promises more elements than the remaining payload can hold.
    case absurdCount(message: WireMessageType, field: String, count: Int, remainingBytes: Int)
    /// The connection closed in the middle of a frame.
    case truncatedFrame(bufferedBytes: Int)
    /// A frame arrived that the session cannot accept in its current state (e.g. a report before hello).
    case unexpectedMessage(WireMessageType, state: String)
    /// The peers share no protocol version.
    case noCommonVersion(local: [UInt8], remote: [UInt8])
}

extension WireError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .badMagic(let magic):
            return
                "bad frame magic 0x\(String(magic, radix: 16)) (expected 0x\(String(WireFrameHeader.magic, radix: 16)))"
        case .unknownVersion(let version, let supported):
            return
                "unknown protocol version \(version) (this build speaks \(supported.lowerBound)...\(supported.upperBound))"
        case .frameTooLarge(let length, let maximum):
            return "frame of \(length) bytes exceeds the \(Self.frameLimit(maximum)) frame limit"
        case .unknownMessageType(let type):
            return "unknown message type 0x\(String(type, radix: 16))"
        case .truncated(let message, let field):
            return "\(message) truncated while reading \(field)"
        case .trailingBytes(let message, let count):
            return "\(message) has \(count) trailing bytes after its last field"
        case .invalidUTF8(let message, let field):
            return "\(message).\(field) is not valid UTF-8"
        case .invalidValue(let message, let field, let value):
            return "\(message).\(field) has invalid value \(value)"
        case .absurdCount(let message, let field, let count, let remaining):
            return "\(message).\(field) claims \(count) elements but only \(remaining) bytes remain"
        case .truncatedFrame(let buffered):
            return "connection closed in the middle of a frame (\(buffered) bytes buffered)"
        case .unexpectedMessage(let type, let state):
            return "unexpected \(type) in state \(state)"
        case .noCommonVersion(let local, let remote):
            return "no common protocol version: this side speaks \(local), the peer speaks \(remote)"
        }
    }

    /// A frame limit as people read it: "1 MiB", "64 KiB", or "256-byte" (bytes of payload, header excluded).
    public static func frameLimit(_ maximum: Int) -> String {
        if maximum > 0, maximum % (1 << 20) == 0 { return "\(maximum >> 20) MiB" }
        if maximum > 0, maximum % (1 << 10) == 0 { return "\(maximum >> 10) KiB" }
        return "\(maximum)-byte"
    }
}
