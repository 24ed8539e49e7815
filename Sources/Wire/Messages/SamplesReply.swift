import NIOCore

/// A VM's ring buffer contents, oldest first.
public struct SamplesReply: WirePayload {
    public static let messageType = WireMessageType.samplesReply

    public var vmName: String
    public var uuid: WireUUID
    /// The ring's capacity, so agentctl can show how full it is.
    public var capacity: UInt16
    public var samples: [VMMetrics]

    public init(vmName: String, uuid: WireUUID, capacity: UInt16, samples: [VMMetrics]) {
        self.vmName = vmName
        self.uuid = uuid
        self.capacity = capacity
        self.samples = samples
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireString(vmName)
        buffer.writeWireUUID(uuid)
        buffer.writeInteger(capacity)
        buffer.writeWireArray(samples) { buffer, sample in buffer.writeVMMetrics(sample) }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> SamplesReply {
        let name = try buffer.readWireString(messageType, "vmName")
        let uuid = try buffer.readWireUUID(messageType, "uuid")
        let capacity = try buffer.readWireInteger(as: UInt16.self, messageType, "capacity")
        let samples = try buffer.readWireArray(minimumElementSize: VMMetrics.wireSize, messageType, "samples") {
            (buffer) throws(WireError) in try buffer.readVMMetrics(messageType, "samples")
        }
        return SamplesReply(vmName: name, uuid: uuid, capacity: capacity, samples: samples)
    }
}
