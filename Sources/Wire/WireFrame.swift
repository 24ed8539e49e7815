import NIOCore

/// A frame as it crosses the wire: the header fields and the undecoded payload.
public struct WireFrame: Hashable, Sendable {
    public var version: UInt8
    public var type: UInt8
    public var flags: WireFrameFlags
    public var requestID: UInt32
    public var payload: ByteBuffer

    public init(version: UInt8, type: UInt8, flags: WireFrameFlags = [], requestID: UInt32 = 0, payload: ByteBuffer) {
        self.version = version
        self.type = type
        self.flags = flags
        self.requestID = requestID
        self.payload = payload
    }

    public var header: WireFrameHeader {
        WireFrameHeader(
            version: version,
            type: type,
            flags: flags,
            requestID: requestID,
            payloadLength: UInt32(payload.readableBytes)
        )
    }
}

extension ByteBuffer {
    @inlinable
    public mutating func writeWireFrame(_ frame: WireFrame) {
        self.writeWireFrameHeader(frame.header)
        self.writeImmutableBuffer(frame.payload)
    }
}
