import NIOCore

extension WireMessage {
    /// The bytes of this message's payload (fixed fields and extension area), by encoding it: what a sender checks
    /// against the frame limit before splitting a large request.
    public var encodedPayloadSize: Int {
        var buffer = ByteBuffer()
        encodePayload(into: &buffer)
        return buffer.readableBytes
    }
}
