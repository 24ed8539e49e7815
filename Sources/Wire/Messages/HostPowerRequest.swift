import NIOCore

/// The torpor CLI asks the manager to wake or put to sleep one host. Answered by a CommandResult once the host is
/// up (or down), which can take minutes for a wake.
public struct HostPowerRequest: WirePayload {
    public static let messageType = WireMessageType.hostPowerRequest

    public enum Operation: UInt8, Hashable, Sendable, CaseIterable {
        case wake = 1
        case sleep = 2
    }

    public var operation: Operation
    public var hostID: String
    /// How to go down, for `sleep` only; nil lets the manager use the action configured for the host.
    public var action: PowerCommand.Action?

    public init(operation: Operation, hostID: String, action: PowerCommand.Action? = nil) {
        self.operation = operation
        self.hostID = hostID
        self.action = action
    }

    public static func wake(_ hostID: String) -> HostPowerRequest {
        HostPowerRequest(operation: .wake, hostID: hostID)
    }

    public static func sleep(_ hostID: String, action: PowerCommand.Action? = nil) -> HostPowerRequest {
        HostPowerRequest(operation: .sleep, hostID: hostID, action: action)
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(operation.rawValue)
        buffer.writeWireString(hostID)
        // 0 stands for "the manager's configured action": Action starts at 1.
        buffer.writeInteger(action?.rawValue ?? 0)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> HostPowerRequest {
        let operation = try buffer.readWireEnum(as: Operation.self, messageType, "operation")
        let hostID = try buffer.readWireString(messageType, "hostID")
        let rawAction = try buffer.readWireInteger(as: UInt8.self, messageType, "action")
        let action: PowerCommand.Action?
        if rawAction == 0 {
            action = nil
        } else if let known = PowerCommand.Action(rawValue: rawAction), operation == .sleep {
            action = known
        } else {
            // Unknown, or given with a wake, which has no action.
            throw .invalidValue(message: messageType, field: "action", value: UInt64(rawAction))
        }
        return HostPowerRequest(operation: operation, hostID: hostID, action: action)
    }
}
