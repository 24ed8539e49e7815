import NIOCore

/// Splits a byte stream into frames. Checks magic, version and length from the header before waiting
/// for the payload, so garbage or an oversize claim fails at once instead of buffering.
public struct WireFrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = WireFrame

    public static let defaultMaximumPayloadLength = 1 << 20

    public let maximumPayloadLength: Int
    public let supportedVersions: ClosedRange<UInt8>

    public init(
        maximumPayloadLength: Int = WireFrameDecoder.defaultMaximumPayloadLength,
        supportedVersions: ClosedRange<UInt8> = WireVersion.supported
    ) {
        self.maximumPayloadLength = maximumPayloadLength
        self.supportedVersions = supportedVersions
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> WireFrame? {
        try self.decodeFrame(buffer: &buffer)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> WireFrame? {
        if let frame = try self.decodeFrame(buffer: &buffer) { return frame }
        if buffer.readableBytes > 0 { throw WireError.truncatedFrame(bufferedBytes: buffer.readableBytes) }
        return nil
    }

    /// The typed core, also used by the fuzzer and by tests without a pipeline.
    public func decodeFrame(buffer: inout ByteBuffer) throws(WireError) -> WireFrame? {
        let start = buffer.readerIndex
        if let magic = buffer.getInteger(at: start, as: UInt16.self), magic != WireFrameHeader.magic {
            throw .badMagic(magic)
        }
        if let version = buffer.getInteger(at: start + 2, as: UInt8.self), !supportedVersions.contains(version) {
            throw .unknownVersion(version, supported: supportedVersions)
        }
        guard let length = buffer.getInteger(at: start + 9, as: UInt32.self) else { return nil }
        guard UInt64(length) <= UInt64(clamping: maximumPayloadLength) else {
            throw .frameTooLarge(length: length, maximum: maximumPayloadLength)
        }
        guard buffer.readableBytes >= WireFrameHeader.size + Int(length) else { return nil }
        guard let header = buffer.readWireFrameHeader(), let payload = buffer.readSlice(length: Int(length)) else {
            buffer.moveReaderIndex(to: start)
            return nil
        }
        return WireFrame(
            version: header.version,
            type: header.type,
            flags: header.flags,
            requestID: header.requestID,
            payload: payload
        )
    }
}

/// Writes frames.
public struct WireFrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = WireFrame

    public init() {}

    public func encode(data: WireFrame, out: inout ByteBuffer) throws {
        out.writeWireFrame(data)
    }
}
