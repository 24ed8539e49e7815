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

    /// Extension tags of this message (docs/protocol.md).
    public enum ExtensionTag {
        /// `force`: one bool byte. Sent only when true, so an old agent (which never refused) just skips it.
        public static let force: UInt16 = 0x0001
    }

    public var action: Action
    /// How long the agent lets the configured command run before killing it.
    public var timeoutSeconds: UInt32
    /// Go down even while VMs run on the host; without it the agent refuses with `conflict`.
    public var force: Bool

    public init(action: Action, timeoutSeconds: UInt32 = 10, force: Bool = false) {
        self.action = action
        self.timeoutSeconds = timeoutSeconds
        self.force = force
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeMultipleIntegers(action.rawValue, timeoutSeconds)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> PowerCommand {
        let action = try buffer.readWireEnum(as: Action.self, messageType, "action")
        let timeout = try buffer.readWireInteger(as: UInt32.self, messageType, "timeoutSeconds")
        return PowerCommand(action: action, timeoutSeconds: timeout)
    }

    public var extensionFields: [WireExtensionField] {
        guard force else { return [] }
        var value = ByteBuffer()
        value.writeWireBool(true)
        return [WireExtensionField(tag: ExtensionTag.force, value: value)]
    }

    public mutating func apply(extensionField field: WireExtensionField) throws(WireError) {
        guard field.tag == ExtensionTag.force else { return }
        var value = field.value
        force = try value.readWireBool(Self.messageType, "force")
        guard value.readableBytes == 0 else {
            throw .invalidValue(
                message: Self.messageType,
                field: "force.length",
                value: UInt64(field.value.readableBytes)
            )
        }
    }
}
