import NIOCore

/// An order to put the agent's host into a power-saving state. Answered by a CommandResult.
public struct PowerCommand: WirePayload {
    public static let messageType = WireMessageType.powerCommand

    public enum Action: UInt8, Hashable, Sendable, CaseIterable {
        case suspendToRam = 1
        case suspendToDisk = 2
        case suspendToBoth = 3
        case shutdown = 4
    }

    public var action: Action
    /// How long the agent lets the configured command run before killing it.
    public var timeoutSeconds: UInt32

    public init(action: Action, timeoutSeconds: UInt32 = 10) {
        self.action = action
        self.timeoutSeconds = timeoutSeconds
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeMultipleIntegers(action.rawValue, timeoutSeconds)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> PowerCommand {
        let action = try buffer.readWireEnum(as: Action.self, messageType, "action")
        let timeout = try buffer.readWireInteger(as: UInt32.self, messageType, "timeoutSeconds")
        return PowerCommand(action: action, timeoutSeconds: timeout)
    }
}
