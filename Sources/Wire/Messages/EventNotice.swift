import NIOCore

/// One of the manager's events (Snooze's notification), pushed unsolicited to a subscriber after its
/// EventSubscription: where Snooze published it (exchange, routing key), what it is (type, status) and Snooze's
/// message object as JSON.
public struct EventNotice: WirePayload {
    public static let messageType = WireMessageType.eventNotice

    public enum Exchange: UInt8, Hashable, Sendable, CaseIterable {
        case system = 1
        case management = 2
        case monitoring = 3
    }

    /// A management event's status; `none` on system events.
    public enum Status: UInt8, Hashable, Sendable, CaseIterable {
        case none = 0
        case pending = 1
        case processed = 2
        case error = 3
    }

    /// From 1 at the manager's start, one per event, the same for every subscriber.
    public var sequence: UInt64
    public var timeUnixMilliseconds: UInt64
    public var exchange: Exchange
    /// Snooze's routing key, e.g. `groupmanager.manager-1` or `manager-1.host-1.web-1.START`.
    public var routingKey: String
    /// `LC_JOIN`… on the system exchange, `START`… on the management exchange.
    public var eventType: String
    public var status: Status
    /// Snooze's message object, JSON.
    public var message: String
    /// Events this subscriber lost just before this one because it read too slowly.
    public var droppedBefore: UInt64

    public init(
        sequence: UInt64,
        timeUnixMilliseconds: UInt64,
        exchange: Exchange,
        routingKey: String,
        eventType: String,
        status: Status = .none,
        message: String,
        droppedBefore: UInt64 = 0
    ) {
        self.sequence = sequence
        self.timeUnixMilliseconds = timeUnixMilliseconds
        self.exchange = exchange
        self.routingKey = routingKey
        self.eventType = eventType
        self.status = status
        self.message = message
        self.droppedBefore = droppedBefore
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(sequence)
        buffer.writeInteger(timeUnixMilliseconds)
        buffer.writeInteger(exchange.rawValue)
        buffer.writeWireString(routingKey)
        buffer.writeWireString(eventType)
        buffer.writeInteger(status.rawValue)
        buffer.writeWireLongString(message)
        buffer.writeInteger(droppedBefore)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> EventNotice {
        EventNotice(
            sequence: try buffer.readWireInteger(as: UInt64.self, messageType, "sequence"),
            timeUnixMilliseconds: try buffer.readWireInteger(as: UInt64.self, messageType, "timeUnixMilliseconds"),
            exchange: try buffer.readWireEnum(as: Exchange.self, messageType, "exchange"),
            routingKey: try buffer.readWireString(messageType, "routingKey"),
            eventType: try buffer.readWireString(messageType, "eventType"),
            status: try buffer.readWireEnum(as: Status.self, messageType, "status"),
            message: try buffer.readWireLongString(messageType, "message"),
            droppedBefore: try buffer.readWireInteger(as: UInt64.self, messageType, "droppedBefore")
        )
    }
}
