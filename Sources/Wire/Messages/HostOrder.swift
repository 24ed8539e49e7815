import NIOCore

/// The leader's order for one of a group manager's hosts, which the group manager carries out (an agent command it
/// forwards, or a mark in its registry). Answered by a CommandResult: the agent's, or the group manager's own.
public struct HostOrder: WirePayload {
    public static let messageType = WireMessageType.hostOrder

    public enum Order: Hashable, Sendable {
        case vmCommand(VMCommand)
        case powerCommand(PowerCommand)
        case migrationCancel(MigrationCancel)
        /// Mark the host in the group manager's registry (SLEEPING, WAKING, …).
        case setState(ManagerStatusReply.HostState)
        /// The leader moves the host to another group manager: forget it without failing it and close its agent's
        /// connection, so that the agent asks the leader again and joins the other.
        case release
    }

    /// The host the order is for; never empty.
    public var hostID: String
    public var order: Order

    public init(hostID: String, order: Order) {
        self.hostID = hostID
        self.order = order
    }

    enum Kind: UInt8 {
        case vmCommand = 1
        case powerCommand = 2
        case migrationCancel = 3
        case setState = 4
        case release = 5
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireString(hostID)
        switch order {
        case .vmCommand(let command):
            buffer.writeInteger(Kind.vmCommand.rawValue)
            buffer.writeWireEmbedded(command)
        case .powerCommand(let command):
            buffer.writeInteger(Kind.powerCommand.rawValue)
            buffer.writeWireEmbedded(command)
        case .migrationCancel(let cancel):
            buffer.writeInteger(Kind.migrationCancel.rawValue)
            buffer.writeWireEmbedded(cancel)
        case .setState(let state):
            buffer.writeMultipleIntegers(Kind.setState.rawValue, state.rawValue)
        case .release:
            buffer.writeInteger(Kind.release.rawValue)
        }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> HostOrder {
        let hostID = try buffer.readWireString(messageType, "hostID")
        guard !hostID.isEmpty else { throw .invalidValue(message: messageType, field: "hostID", value: 0) }
        let order: Order
        switch try buffer.readWireEnum(as: Kind.self, messageType, "kind") {
        case .vmCommand:
            order = .vmCommand(try buffer.readWireEmbedded(VMCommand.self, messageType, "vmCommand"))
        case .powerCommand:
            order = .powerCommand(try buffer.readWireEmbedded(PowerCommand.self, messageType, "powerCommand"))
        case .migrationCancel:
            order = .migrationCancel(try buffer.readWireEmbedded(MigrationCancel.self, messageType, "migrationCancel"))
        case .setState:
            order = .setState(try buffer.readWireEnum(as: ManagerStatusReply.HostState.self, messageType, "state"))
        case .release:
            order = .release
        }
        return HostOrder(hostID: hostID, order: order)
    }
}
