import Foundation
import Wire

/// One of Snooze's notifications (docs/snooze-api.md, "Events"), produced once inside the manager and delivered to
/// every subscriber: the Wire stream, `GET /events` and RabbitMQ. `message` is Snooze's message object as JSON; the
/// body Snooze published around it is `snoozeBody`.
public struct ManagerEvent: Sendable, Equatable {
    /// Snooze's three topic exchanges.
    public enum Exchange: String, Sendable, CaseIterable {
        case system, management, monitoring
    }

    /// A management event's status.
    public enum Status: String, Sendable, CaseIterable {
        case pending = "PENDING"
        case processed = "PROCESSED"
        case error = "ERROR"
    }

    /// Increasing from 1 in the order the bus took events; set by `EventBus.publish`.
    public var sequence: UInt64
    /// When the bus took it; set by `EventBus.publish`.
    public var time: Date
    public var exchange: Exchange
    /// Snooze's routing key: `groupleader`, `groupmanager.GMID`, or `GMID.LCID.VMID.ACTION`.
    public var routingKey: String
    /// A system event's type (`LC_JOIN`…) or a management event's action (`START`…).
    public var eventType: String
    /// Management events only.
    public var status: Status?
    /// Snooze's message object, compact JSON.
    public var message: Data

    public init(
        exchange: Exchange,
        routingKey: String,
        eventType: String,
        status: Status? = nil,
        message: Data,
        sequence: UInt64 = 0,
        time: Date = Date(timeIntervalSince1970: 0)
    ) {
        self.exchange = exchange
        self.routingKey = routingKey
        self.eventType = eventType
        self.status = status
        self.message = message
        self.sequence = sequence
        self.time = time
    }

    /// What Snooze published: `{"eventType":T,"message":M}` on the system exchange, `{"message":M,"status":S}` on
    /// the management exchange.
    public var snoozeBody: Data {
        var body = Data()
        if let status {
            body.append(contentsOf: #"{"message":"#.utf8)
            body.append(message)
            body.append(contentsOf: #","status":"\#(status.rawValue)"}"#.utf8)
        } else {
            body.append(contentsOf: #"{"eventType":"#.utf8)
            body.append(Self.quoted(eventType))
            body.append(contentsOf: #","message":"#.utf8)
            body.append(message)
            body.append(contentsOf: "}".utf8)
        }
        return body
    }

    /// The JSON one subscriber line carries (SSE `data:`, `torpor events --follow --json`): Snooze's fields plus
    /// where it went and when, keys sorted: `eventType`, `exchange`, `message`, `routingKey`, `sequence`, `status`
    /// (management only), `time` (ISO 8601, milliseconds, UTC).
    public var envelope: Data {
        var body = Data(#"{"eventType":"#.utf8)
        body.append(Self.quoted(eventType))
        body.append(contentsOf: #","exchange":"#.utf8)
        body.append(Self.quoted(exchange.rawValue))
        body.append(contentsOf: #","message":"#.utf8)
        body.append(message)
        body.append(contentsOf: #","routingKey":"#.utf8)
        body.append(Self.quoted(routingKey))
        body.append(contentsOf: #","sequence":\#(sequence)"#.utf8)
        if let status { body.append(contentsOf: #","status":"\#(status.rawValue)""#.utf8) }
        body.append(contentsOf: #","time":"#.utf8)
        body.append(Self.quoted(Self.timeFormat.format(time)))
        body.append(contentsOf: "}".utf8)
        return body
    }

    static let timeFormat = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)

    static func quoted(_ text: String) -> Data {
        (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8)
    }
}

extension ManagerEvent {
    /// The Wire push of this event (`torpor events --follow`).
    func notice(droppedBefore: UInt64) -> EventNotice {
        EventNotice(
            sequence: sequence,
            timeUnixMilliseconds: UInt64(max(0, (time.timeIntervalSince1970 * 1000).rounded())),
            exchange: exchange.wire,
            routingKey: routingKey,
            eventType: eventType,
            status: status.map(\.wire) ?? EventNotice.Status.none,
            message: String(decoding: message, as: UTF8.self),
            droppedBefore: droppedBefore
        )
    }
}

extension ManagerEvent.Exchange {
    var wire: EventNotice.Exchange {
        switch self {
        case .system: .system
        case .management: .management
        case .monitoring: .monitoring
        }
    }

    var subscriptionBit: Wire.EventSubscription.Exchanges {
        switch self {
        case .system: .system
        case .management: .management
        case .monitoring: .monitoring
        }
    }
}

extension ManagerEvent.Status {
    var wire: EventNotice.Status {
        switch self {
        case .pending: .pending
        case .processed: .processed
        case .error: .error
        }
    }
}
