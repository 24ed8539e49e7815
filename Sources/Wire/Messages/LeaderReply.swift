import NIOCore

/// The answer to LeaderQuery: the elected manager's id and the address it advertises, or that none is elected yet.
/// The leader names itself; a manager without `coordination:` is its own leader.
public struct LeaderReply: WirePayload {
    public static let messageType = WireMessageType.leaderReply

    public enum Leader: Hashable, Sendable {
        /// No manager leads at the moment (an election in progress, or etcd unreachable from the one asked).
        case nobody
        /// `managerID` leads and is reached at `address` (`host:port`, its `coordination.advertise`).
        case elected(managerID: String, address: String)
    }

    public var leader: Leader

    public init(leader: Leader) {
        self.leader = leader
    }

    public func encode(into buffer: inout ByteBuffer) {
        switch leader {
        case .nobody:
            buffer.writeInteger(UInt8(0))
            buffer.writeWireString("")
            buffer.writeWireString("")
        case .elected(let managerID, let address):
            buffer.writeInteger(UInt8(1))
            buffer.writeWireString(managerID)
            buffer.writeWireString(address)
        }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> LeaderReply {
        let state = try buffer.readWireInteger(as: UInt8.self, messageType, "state")
        let managerID = try buffer.readWireString(messageType, "managerID")
        let address = try buffer.readWireString(messageType, "address")
        switch state {
        case 0:
            // Nothing to name: a sender that names someone while saying nobody leads is broken.
            guard managerID.isEmpty else {
                throw .invalidValue(message: messageType, field: "managerID", value: UInt64(managerID.utf8.count))
            }
            guard address.isEmpty else {
                throw .invalidValue(message: messageType, field: "address", value: UInt64(address.utf8.count))
            }
            return LeaderReply(leader: .nobody)
        case 1:
            guard !managerID.isEmpty else { throw .invalidValue(message: messageType, field: "managerID", value: 0) }
            guard !address.isEmpty else { throw .invalidValue(message: messageType, field: "address", value: 0) }
            return LeaderReply(leader: .elected(managerID: managerID, address: address))
        default:
            throw .invalidValue(message: messageType, field: "state", value: UInt64(state))
        }
    }
}
