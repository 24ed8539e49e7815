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
    /// Requests `WireConnection.serveRequests` answers at once; one more is answered at once with an Error frame
    /// `busy` naming this limit, instead of waiting in an unbounded queue.
    public var maximumConcurrentRequests: Int
    /// A listener closes an established connection on which the peer has sent no complete frame for this long
    /// while none of its requests was being answered. Nil keeps idle connections. Diallers never close for this.
    public var idleTimeout: Duration?
    /// Bytes queued for the socket above which the connection stops reading from the peer (the peer is not
    /// reading what we send, so what it sends next would only queue more); reading resumes below half of it.
    public var outboundBufferHighWatermark: Int
    /// How long the peer may take none of what is queued for it before the connection is closed.
    public var outboundStallTimeout: Duration

    public init(
        maximumPayloadLength: Int = WireFrameDecoder.defaultMaximumPayloadLength,
        handshakeTimeout: Duration = .seconds(10),
        inboundBufferHighWatermark: Int = 64,
        inboundBufferLowWatermark: Int = 16,
        errorLingerTimeout: Duration = .seconds(2),
        maximumConcurrentRequests: Int = 64,
        idleTimeout: Duration? = .seconds(60),
        outboundBufferHighWatermark: Int = 1 << 20,
        outboundStallTimeout: Duration = .seconds(30)
    ) {
        precondition(maximumPayloadLength >= 0, "maximumPayloadLength must not be negative")
        precondition(
            inboundBufferLowWatermark >= 0 && inboundBufferLowWatermark < inboundBufferHighWatermark,
            "inbound watermarks must satisfy 0 <= low < high"
        )
        precondition(maximumConcurrentRequests >= 1, "maximumConcurrentRequests must be at least 1")
        precondition(outboundBufferHighWatermark >= 2, "outboundBufferHighWatermark must be at least 2")
        self.maximumPayloadLength = maximumPayloadLength
        self.handshakeTimeout = handshakeTimeout
        self.inboundBufferHighWatermark = inboundBufferHighWatermark
        self.inboundBufferLowWatermark = inboundBufferLowWatermark
        self.errorLingerTimeout = errorLingerTimeout
        self.maximumConcurrentRequests = maximumConcurrentRequests
        self.idleTimeout = idleTimeout
        self.outboundBufferHighWatermark = outboundBufferHighWatermark
        self.outboundStallTimeout = outboundStallTimeout
    }
}
