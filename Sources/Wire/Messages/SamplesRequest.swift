import NIOCore

/// agentctl asks for the ring buffer of one VM. Answered by SamplesReply.
public struct SamplesRequest: WirePayload {
    public static let messageType = WireMessageType.samplesRequest

    public var vmName: String
    /// How many of the newest samples to return; 0 means all.
    public var last: UInt16

    public init(vmName: String, last: UInt16 = 0) {
        self.vmName = vmName
        self.last = last
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireString(vmName)
        buffer.writeInteger(last)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> SamplesRequest {
        let name = try buffer.readWireString(messageType, "vmName")
        let last = try buffer.readWireInteger(as: UInt16.self, messageType, "last")
        return SamplesRequest(vmName: name, last: last)
    }
}
