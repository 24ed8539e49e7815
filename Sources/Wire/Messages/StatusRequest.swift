import NIOCore

/// agentctl asks an agent for its status. Answered by StatusReply. No fields in version 1.
public struct StatusRequest: WirePayload {
    public static let messageType = WireMessageType.statusRequest

    public init() {}

    public func encode(into buffer: inout ByteBuffer) {}

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> StatusRequest { StatusRequest() }
}
