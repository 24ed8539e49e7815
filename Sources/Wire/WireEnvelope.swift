import NIOCore

/// A decoded message with the frame fields a session needs: request id, flags and version.
public struct WireEnvelope: Hashable, Sendable {
    public var version: UInt8
    public var flags: WireFrameFlags
    public var requestID: UInt32
    public var message: WireMessage

    public init(
        version: UInt8 = WireVersion.current,
        flags: WireFrameFlags = [],
        requestID: UInt32 = 0,
        message: WireMessage
    ) {
        self.version = version
        self.flags = flags
        self.requestID = requestID
        self.message = message
    }

    public var isResponse: Bool { flags.contains(.response) }

    /// Decodes a frame's payload. Returns nil for an unknown type marked ignorable.
    public init?(frame: WireFrame) throws(WireError) {
        guard let type = WireMessageType(rawValue: frame.type) else {
            if frame.flags.contains(.ignorable) { return nil }
            throw .unknownMessageType(frame.type)
        }
        var payload = frame.payload
        self.init(
            version: frame.version,
            flags: frame.flags,
            requestID: frame.requestID,
            message: try WireMessage.decode(type: type, payload: &payload)
        )
    }

    /// Writes header and payload, back-patching the payload length.
    public func encode(into buffer: inout ByteBuffer) {
        let headerIndex = buffer.writerIndex
        buffer.writeWireFrameHeader(
            WireFrameHeader(
                version: version,
                type: message.type.rawValue,
                flags: flags,
                requestID: requestID,
                payloadLength: 0
            )
        )
        let payloadStart = buffer.writerIndex
        message.encodePayload(into: &buffer)
        buffer.setInteger(UInt32(buffer.writerIndex - payloadStart), at: headerIndex + 9)
    }
}

/// Frames in, envelopes out: the decoder a pipeline uses (or a handler that cuts frames itself, through
/// `nextEnvelope(from:)`). Unknown ignorable frames are dropped.
public struct WireMessageDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = WireEnvelope

    private var frames: WireFrameDecoder

    public init(maximumPayloadLength: Int = WireFrameDecoder.defaultMaximumPayloadLength) {
        self.frames = WireFrameDecoder(maximumPayloadLength: maximumPayloadLength)
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> WireEnvelope? {
        try nextEnvelope(from: &buffer)
    }

    /// The next complete frame's envelope in `buffer`, nil until one is complete.
    public mutating func nextEnvelope(from buffer: inout ByteBuffer) throws(WireError) -> WireEnvelope? {
        while let frame = try frames.decodeFrame(buffer: &buffer) {
            if let envelope = try WireEnvelope(frame: frame) { return envelope }
        }
        return nil
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> WireEnvelope? {
        if let envelope = try decode(buffer: &buffer) { return envelope }
        if buffer.readableBytes > 0 { throw WireError.truncatedFrame(bufferedBytes: buffer.readableBytes) }
        return nil
    }
}

/// Envelopes out as bytes.
public struct WireMessageEncoder: MessageToByteEncoder {
    public typealias OutboundIn = WireEnvelope

    public init() {}

    public func encode(data: WireEnvelope, out: inout ByteBuffer) throws {
        data.encode(into: &out)
    }
}
