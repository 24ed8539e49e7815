import NIOCore

/// "Who leads?": asked of any manager by agents and the torpor CLI that follow the elected manager (docs/ha.md).
/// Answered by LeaderReply, by a standby as by the leader. No fixed fields in version 1.
public struct LeaderQuery: WirePayload {
    public static let messageType = WireMessageType.leaderQuery

    public init() {}

    public func encode(into buffer: inout ByteBuffer) {}

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> LeaderQuery {
        LeaderQuery()
    }
}
