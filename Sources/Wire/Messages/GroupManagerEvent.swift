import NIOCore

/// Something a group manager's agent did, relayed to the leader unsolicited as it happens, so the leader's view of
/// the host changes when the group manager's does.
public struct GroupManagerEvent: WirePayload {
    public static let messageType = WireMessageType.groupManagerEvent

    public enum Event: Hashable, Sendable {
        /// The agent said hello (first join or rejoin).
        case joined(AgentDescription)
        /// Every inventory the agent sends.
        case inventory(Inventory)
        /// The heartbeat timeout marked the host FAILED; the agent as it last described itself, and its last
        /// inventory if any.
        case failed(AgentDescription, lastInventory: Inventory?)
        /// The agent said the host is about to go down (PowerNotice). `reason` is cut to
        /// `PowerNotice.maximumReasonBytes` when sent.
        case goingDown(action: PowerCommand.Action, reason: String)
        /// The agent said its host stays up after all.
        case resumed
        /// The agent's MigrationProgress push.
        case migrationProgress(MigrationProgress)
    }

    /// The host the event is about; never empty.
    public var hostID: String
    public var event: Event

    public init(hostID: String, event: Event) {
        self.hostID = hostID
        self.event = event
    }

    enum Kind: UInt8 {
        case joined = 1
        case inventory = 2
        case failed = 3
        case goingDown = 4
        case resumed = 5
        case migrationProgress = 6
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireString(hostID)
        switch event {
        case .joined(let agent):
            buffer.writeInteger(Kind.joined.rawValue)
            Self.encode(agent, &buffer)
        case .inventory(let inventory):
            buffer.writeInteger(Kind.inventory.rawValue)
            buffer.writeWireEmbedded(inventory)
        case .failed(let agent, let lastInventory):
            buffer.writeInteger(Kind.failed.rawValue)
            Self.encode(agent, &buffer)
            buffer.writeWireOptional(lastInventory) { buffer, inventory in buffer.writeWireEmbedded(inventory) }
        case .goingDown(let action, let reason):
            buffer.writeInteger(Kind.goingDown.rawValue)
            buffer.writeInteger(action.rawValue)
            buffer.writeWireString(reason.prefix(utf8Bytes: PowerNotice.maximumReasonBytes))
        case .resumed:
            buffer.writeInteger(Kind.resumed.rawValue)
        case .migrationProgress(let progress):
            buffer.writeInteger(Kind.migrationProgress.rawValue)
            buffer.writeWireEmbedded(progress)
        }
    }

    /// Hello's AgentDescription, then its migration URI (which Hello carries in its extension area).
    private static func encode(_ agent: AgentDescription, _ buffer: inout ByteBuffer) {
        agent.encode(into: &buffer)
        buffer.writeWireString(agent.migrationURI)
    }

    private static func decodeAgent(_ buffer: inout ByteBuffer) throws(WireError) -> AgentDescription {
        var agent = try AgentDescription.decode(from: &buffer, messageType)
        agent.migrationURI = try buffer.readWireString(messageType, "agent.migrationURI")
        return agent
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> GroupManagerEvent {
        let hostID = try buffer.readWireString(messageType, "hostID")
        guard !hostID.isEmpty else { throw .invalidValue(message: messageType, field: "hostID", value: 0) }
        let event: Event
        switch try buffer.readWireEnum(as: Kind.self, messageType, "kind") {
        case .joined:
            event = .joined(try decodeAgent(&buffer))
        case .inventory:
            event = .inventory(try buffer.readWireEmbedded(Inventory.self, messageType, "inventory"))
        case .failed:
            let agent = try decodeAgent(&buffer)
            let inventory = try buffer.readWireOptional(messageType, "lastInventory") {
                (buffer) throws(WireError) -> Inventory in
                try buffer.readWireEmbedded(Inventory.self, messageType, "lastInventory")
            }
            event = .failed(agent, lastInventory: inventory)
        case .goingDown:
            let action = try buffer.readWireEnum(as: PowerCommand.Action.self, messageType, "action")
            let reason = try buffer.readWireString(messageType, "reason")
            guard reason.utf8.count <= PowerNotice.maximumReasonBytes else {
                throw .invalidValue(message: messageType, field: "reason.length", value: UInt64(reason.utf8.count))
            }
            event = .goingDown(action: action, reason: reason)
        case .resumed:
            event = .resumed
        case .migrationProgress:
            event = .migrationProgress(
                try buffer.readWireEmbedded(MigrationProgress.self, messageType, "migrationProgress")
            )
        }
        return GroupManagerEvent(hostID: hostID, event: event)
    }
}
