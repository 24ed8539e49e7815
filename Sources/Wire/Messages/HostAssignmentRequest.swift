import NIOCore

/// An agent asks the group leader which group manager it joins: sent once the leader is found, on the leader's
/// connection. Answered by a HostAssignment.
public struct HostAssignmentRequest: WirePayload {
    public static let messageType = WireMessageType.hostAssignmentRequest

    /// The asking agent's own host id (its certificate's name); never empty.
    public var hostID: String

    public init(hostID: String) {
        self.hostID = hostID
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireString(hostID)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> HostAssignmentRequest {
        let hostID = try buffer.readWireString(messageType, "hostID")
        guard !hostID.isEmpty else { throw .invalidValue(message: messageType, field: "hostID", value: 0) }
        return HostAssignmentRequest(hostID: hostID)
    }
}
