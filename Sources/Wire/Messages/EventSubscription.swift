import NIOCore

/// The torpor CLI (`torpor events --follow`) asks the manager for its events (Snooze's notifications). Answered by a
/// CommandResult `ok`; from then on the manager pushes an EventNotice per event on the same connection, unsolicited,
/// until the connection closes.
public struct EventSubscription: WirePayload {
    public static let messageType = WireMessageType.eventSubscription

    /// Snooze's exchanges, as bits.
    public struct Exchanges: OptionSet, Hashable, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        public static let system = Exchanges(rawValue: 1)
        public static let management = Exchanges(rawValue: 2)
        public static let monitoring = Exchanges(rawValue: 4)
        public static let all: Exchanges = [.system, .management, .monitoring]
    }

    /// The exchanges whose events are wanted; never empty.
    public var exchanges: Exchanges
    /// Events the manager holds for this subscriber when it reads slowly (older ones are dropped and counted); 0:
    /// the manager's default.
    public var bufferEvents: UInt32

    public init(exchanges: Exchanges = .all, bufferEvents: UInt32 = 0) {
        self.exchanges = exchanges
        self.bufferEvents = bufferEvents
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(exchanges.rawValue)
        buffer.writeInteger(bufferEvents)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> EventSubscription {
        let raw = try buffer.readWireInteger(as: UInt8.self, messageType, "exchanges")
        // None, or a bit this build does not know.
        guard raw != 0, Exchanges(rawValue: raw).isSubset(of: .all) else {
            throw .invalidValue(message: messageType, field: "exchanges", value: UInt64(raw))
        }
        let bufferEvents = try buffer.readWireInteger(as: UInt32.self, messageType, "bufferEvents")
        return EventSubscription(exchanges: Exchanges(rawValue: raw), bufferEvents: bufferEvents)
    }
}
