import NIOCore

/// An agent tells its manager about its host's power: sent unsolicited just before the host goes down (whoever
/// ordered it), and after it came back. Lets the manager tell a host asleep from a host that failed.
public struct PowerNotice: WirePayload {
    public static let messageType = WireMessageType.powerNotice

    /// Longest reason in UTF-8 bytes; a longer one is cut at a scalar boundary by the sender.
    public static let maximumReasonBytes = 256

    public enum Phase: UInt8, Hashable, Sendable, CaseIterable {
        case goingDown = 1
        case resumed = 2
    }

    public var phase: Phase
    /// What the host is doing; nil for `resumed`.
    public var action: PowerCommand.Action?
    /// Who or what caused it ("manager order", "agentctl", "system sleep").
    public var reason: String

    public init(phase: Phase, action: PowerCommand.Action? = nil, reason: String) {
        self.phase = phase
        self.action = action
        self.reason = reason.prefix(utf8Bytes: Self.maximumReasonBytes)
    }

    public static func goingDown(_ action: PowerCommand.Action, reason: String) -> PowerNotice {
        PowerNotice(phase: .goingDown, action: action, reason: reason)
    }

    public static func resumed(reason: String) -> PowerNotice {
        PowerNotice(phase: .resumed, reason: reason)
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(phase.rawValue)
        // 0 stands for "no action": Action starts at 1.
        buffer.writeInteger(action?.rawValue ?? 0)
        buffer.writeWireString(reason.prefix(utf8Bytes: Self.maximumReasonBytes))
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> PowerNotice {
        let phase = try buffer.readWireEnum(as: Phase.self, messageType, "phase")
        let rawAction = try buffer.readWireInteger(as: UInt8.self, messageType, "action")
        let action: PowerCommand.Action?
        if rawAction == 0 {
            action = nil
        } else if let known = PowerCommand.Action(rawValue: rawAction) {
            action = known
        } else {
            throw .invalidValue(message: messageType, field: "action", value: UInt64(rawAction))
        }
        // A notice that the host goes down must say how.
        if phase == .goingDown, action == nil {
            throw .invalidValue(message: messageType, field: "action", value: 0)
        }
        let reason = try buffer.readWireString(messageType, "reason")
        guard reason.utf8.count <= maximumReasonBytes else {
            throw .invalidValue(message: messageType, field: "reason.length", value: UInt64(reason.utf8.count))
        }
        return PowerNotice(phase: phase, action: action, reason: reason)
    }
}
