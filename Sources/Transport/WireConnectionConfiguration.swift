import Wire

/// Limits and timeouts shared by both ends of a connection.
public struct WireConnectionConfiguration: Hashable, Sendable {
    /// Frames with a longer payload are refused with a `malformedFrame` error and the connection closes.
    public var maximumPayloadLength: Int
    /// How long the Hello/Welcome exchange may take, counted from the TCP connection.
    public var handshakeTimeout: Duration
    /// Inbound envelopes buffered for the application before the connection stops reading from the socket.
    /// Reading resumes when the buffer drains to `inboundBufferLowWatermark`.
    public var inboundBufferHighWatermark: Int
    public var inboundBufferLowWatermark: Int
    /// After sending an Error frame, how long to keep reading (and discarding) before closing, so that the
    /// peer receives the Error frame instead of a reset.
    public var errorLingerTimeout: Duration

    public init(
        maximumPayloadLength: Int = WireFrameDecoder.defaultMaximumPayloadLength,
        handshakeTimeout: Duration = .seconds(10),
        inboundBufferHighWatermark: Int = 64,
        inboundBufferLowWatermark: Int = 16,
        errorLingerTimeout: Duration = .seconds(2)
    ) {
        precondition(maximumPayloadLength >= 0, "maximumPayloadLength must not be negative")
        precondition(
            inboundBufferLowWatermark >= 0 && inboundBufferLowWatermark < inboundBufferHighWatermark,
            "inbound watermarks must satisfy 0 <= low < high"
        )
        self.maximumPayloadLength = maximumPayloadLength
        self.handshakeTimeout = handshakeTimeout
        self.inboundBufferHighWatermark = inboundBufferHighWatermark
        self.inboundBufferLowWatermark = inboundBufferLowWatermark
        self.errorLingerTimeout = errorLingerTimeout
    }
}
