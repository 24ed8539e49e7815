import NIOCore

/// agentctl asks the manager for its diagnostics. Answered by ManagerStatusReply. No fields in version 1.
public struct ManagerStatusRequest: WirePayload {
    public static let messageType = WireMessageType.managerStatusRequest

    public init() {}

    public func encode(into buffer: inout ByteBuffer) {}

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> ManagerStatusRequest {
        ManagerStatusRequest()
    }
}
