import AgentControl
import ArgumentParser
import Foundation
import Wire

/// `torpor events --follow [--json]`: the manager's events (Snooze's notifications) as they happen, one line each,
/// until interrupted or the manager goes away.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Follow the manager's events (Snooze's notifications: LC_JOIN, START PROCESSED, …) as they happen.",
        discussion: """
            One line per event: its time, sequence number, exchange, type, status and Snooze's routing key; with \
            --json one JSON object per line with Snooze's message (docs/snooze-api.md, "Events"). Exits 69 when \
            the manager is unreachable or goes away.
            """
    )

    @OptionGroup var options: ManagerOptions

    @Flag(name: .long, help: "Keep printing events as they come (required: events are only streamed).")
    var follow = false

    @Option(name: .long, help: "Only this exchange: system or management (repeatable; default: every exchange).")
    var exchange: [String] = []

    func validate() throws {
        guard follow else { throw ValidationError("torpor events streams events: give --follow") }
        _ = try Self.exchanges(exchange)
    }

    static func exchanges(_ names: [String]) throws -> EventSubscription.Exchanges {
        guard !names.isEmpty else { return .all }
        var result: EventSubscription.Exchanges = []
        for name in names {
            switch name {
            case "system": result.insert(.system)
            case "management": result.insert(.management)
            case "monitoring": result.insert(.monitoring)
            default: throw ValidationError("--exchange must be system, management or monitoring, got '\(name)'")
            }
        }
        return result
    }

    func run() async throws {
        let session = ClusterClient(options: options).session
        let subscription = EventSubscription(exchanges: try Self.exchanges(exchange))
        let json = options.json
        try await session.run { connection in
            let reply = try await session.request(.eventSubscription(subscription), on: connection)
            guard case .commandResult(let result) = reply, result.code == .ok else {
                throw session.unexpected(reply, expected: "CommandResult ok")
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                // A ping now and then: the manager keeps a connection that is heard from, and a manager gone is
                // noticed even when no event comes.
                group.addTask {
                    var sequence: UInt64 = 0
                    while true {
                        try await Task.sleep(for: .seconds(20))
                        sequence += 1
                        _ = try await connection.request(
                            .heartbeat(Heartbeat(sequence: sequence, timestampMilliseconds: 0)),
                            timeout: .seconds(60)
                        )
                    }
                }
                for try await envelope in connection.inbound {
                    guard case .eventNotice(let notice) = envelope.message else { continue }
                    print(json ? Self.jsonLine(notice) : Self.textLine(notice))
                    fflush(nil)
                }
                group.cancelAll()
            }
            throw session.failure("manager closed the event stream", code: TorporExit.unreachable)
        }
    }

    static func time(_ notice: EventNotice) -> String {
        Date(timeIntervalSince1970: Double(notice.timeUnixMilliseconds) / 1000)
            .formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
    }

    static func word(_ exchange: EventNotice.Exchange) -> String {
        switch exchange {
        case .system: "system"
        case .management: "management"
        case .monitoring: "monitoring"
        }
    }

    static func word(_ status: EventNotice.Status) -> String? {
        switch status {
        case .none: nil
        case .pending: "PENDING"
        case .processed: "PROCESSED"
        case .error: "ERROR"
        }
    }

    /// `TIME #SEQ EXCHANGE TYPE [STATUS] ROUTING-KEY`, after a line saying how many were lost before it, if any.
    static func textLine(_ notice: EventNotice) -> String {
        let lost = notice.droppedBefore > 0 ? "(\(notice.droppedBefore) events dropped: reading too slowly)\n" : ""
        let fields = [time(notice), "#\(notice.sequence)", word(notice.exchange), notice.eventType]
            + [word(notice.status)].compactMap { $0 } + [notice.routingKey]
        return lost + fields.joined(separator: " ")
    }

    /// One line of JSON with sorted keys: the fields of `GET /events`' data, plus `droppedBefore` when events were
    /// lost before this one.
    static func jsonLine(_ notice: EventNotice) -> String {
        var object: [String: Any] = [
            "eventType": notice.eventType,
            "exchange": word(notice.exchange),
            "message": (try? JSONSerialization.jsonObject(with: Data(notice.message.utf8), options: .fragmentsAllowed))
                ?? notice.message,
            "routingKey": notice.routingKey,
            "sequence": notice.sequence,
            "time": time(notice),
        ]
        if let status = word(notice.status) { object["status"] = status }
        if notice.droppedBefore > 0 { object["droppedBefore"] = notice.droppedBefore }
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: object,
                options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed]
            )
        else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
