import NIOCore

/// The leader's answer to HostAssignmentRequest: where the host joins. Sent as the response to the request.
public struct HostAssignment: WirePayload {
    public static let messageType = WireMessageType.hostAssignment

    public enum Target: Hashable, Sendable {
        /// The leader manages hosts itself (no group managers): stay on this connection.
        case leader
        /// Join group manager `groupManagerID`, which listens for agents at `address` (host:port).
        case groupManager(id: String, address: String)
    }

    /// The host the request asked about; never empty.
    public var hostID: String
    public var target: Target

    public init(hostID: String, target: Target) {
        self.hostID = hostID
        self.target = target
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireString(hostID)
        switch target {
        case .leader:
            buffer.writeInteger(UInt8(0))
            buffer.writeWireString("")
            buffer.writeWireString("")
        case .groupManager(let id, let address):
            buffer.writeInteger(UInt8(1))
            buffer.writeWireString(id)
            buffer.writeWireString(address)
        }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> HostAssignment {
        let hostID = try buffer.readWireString(messageType, "hostID")
        guard !hostID.isEmpty else { throw .invalidValue(message: messageType, field: "hostID", value: 0) }
        let target = try buffer.readWireInteger(as: UInt8.self, messageType, "target")
        let id = try buffer.readWireString(messageType, "groupManagerID")
        let address = try buffer.readWireString(messageType, "address")
        switch target {
        case 0:
            // Nothing to name: a sender that names a group manager while keeping the host is broken.
            guard id.isEmpty else {
                throw .invalidValue(message: messageType, field: "groupManagerID", value: UInt64(id.utf8.count))
            }
            guard address.isEmpty else {
                throw .invalidValue(message: messageType, field: "address", value: UInt64(address.utf8.count))
            }
            return HostAssignment(hostID: hostID, target: .leader)
        case 1:
            guard !id.isEmpty else { throw .invalidValue(message: messageType, field: "groupManagerID", value: 0) }
            guard !address.isEmpty else { throw .invalidValue(message: messageType, field: "address", value: 0) }
            return HostAssignment(hostID: hostID, target: .groupManager(id: id, address: address))
        default:
            throw .invalidValue(message: messageType, field: "target", value: UInt64(target))
        }
    }
}
