import NIOCore

/// The fixed 13-byte frame header. All integers are big-endian (network byte order).
///
/// ```
/// offset size field
///      0    2 magic          0x5450 ("TP")
///      2    1 version        protocol version of the payload
///      3    1 type           WireMessageType raw value
///      4    1 flags          WireFrameFlags
///      5    4 requestID      matches a response to its request; 0 = unsolicited
///      9    4 payloadLength  bytes of payload that follow
/// ```
public struct WireFrameHeader: Hashable, Sendable {
    public static let magic: UInt16 = 0x5450
    public static let size = 13

    public var version: UInt8
    public var type: UInt8
    public var flags: WireFrameFlags
    public var requestID: UInt32
    public var payloadLength: UInt32

    public init(version: UInt8, type: UInt8, flags: WireFrameFlags, requestID: UInt32, payloadLength: UInt32) {
        self.version = version
        self.type = type
        self.flags = flags
        self.requestID = requestID
        self.payloadLength = payloadLength
    }
}

/// Frame flag bits. Unknown bits are ignored by receivers so new ones can be added.
public struct WireFrameFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The frame answers the request with the same request id.
    public static let response = WireFrameFlags(rawValue: 1 << 0)
    /// A receiver that does not know the message type drops the frame instead of failing the connection.
    public static let ignorable = WireFrameFlags(rawValue: 1 << 1)
}

extension ByteBuffer {
    /// Reads a header if 13 bytes are readable; the reader index does not move on nil.
    @inlinable
    public mutating func readWireFrameHeader() -> WireFrameHeader? {
        guard
            let (magic, version, type, flags, requestID, length) = self.readMultipleIntegers(
                as: (UInt16, UInt8, UInt8, UInt8, UInt32, UInt32).self
            )
        else { return nil }
        _ = magic
        return WireFrameHeader(
            version: version,
            type: type,
            flags: WireFrameFlags(rawValue: flags),
            requestID: requestID,
            payloadLength: length
        )
    }

    @inlinable
    public mutating func writeWireFrameHeader(_ header: WireFrameHeader) {
        // One raw write: writeMultipleIntegers with six mixed types cost more than the rest of a small frame.
        self.writeWithUnsafeMutableBytes(minimumWritableBytes: WireFrameHeader.size) { bytes in
            let headerBytes = UnsafeMutableRawBufferPointer(rebasing: bytes[..<WireFrameHeader.size])
            var writer = WireRecordWriter(bytes: headerBytes)
            writer.write(WireFrameHeader.magic)
            writer.write(header.version)
            writer.write(header.type)
            writer.write(header.flags.rawValue)
            writer.write(header.requestID)
            writer.write(header.payloadLength)
            return WireFrameHeader.size
        }
    }
}
