import NIOCore

/// Liveness, both directions. Sent as a request it is also a ping: the peer echoes it as a response.
public struct Heartbeat: WirePayload {
    public static let messageType = WireMessageType.heartbeat

    public var sequence: UInt64
    /// Sender's wall clock, milliseconds since the Unix epoch.
    public var timestampMilliseconds: Int64

    public init(sequence: UInt64, timestampMilliseconds: Int64) {
        self.sequence = sequence
        self.timestampMilliseconds = timestampMilliseconds
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeMultipleIntegers(sequence, timestampMilliseconds)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> Heartbeat {
        guard let (sequence, timestamp) = buffer.readMultipleIntegers(as: (UInt64, Int64).self) else {
            throw .truncated(message: messageType, field: "sequence/timestamp")
        }
        return Heartbeat(sequence: sequence, timestampMilliseconds: timestamp)
    }
}
