import Foundation
import Hummingbird
import NIOCore
import ServiceLifecycle

/// `GET /events` on the HTTP front: Snooze's notifications as server-sent events (docs/snooze-api.md, "Events").
/// Each event is `id: SEQUENCE`, `event: system|management`, `data: ENVELOPE` (`ManagerEvent.envelope`); a client
/// too slow for its buffer gets `event: dropped` with `{"dropped":N}`; quiet streams get a `:` comment line every
/// `http.events.keep_alive`. `?exchange=management` (or `system`, comma-separated) keeps only those exchanges.
public struct EventStreamRoutes: HTTPFrontRoutes {
    let bus: EventBus
    let configuration: HTTPFrontConfiguration.EventsConfiguration

    public init(bus: EventBus, configuration: HTTPFrontConfiguration.EventsConfiguration) {
        self.bus = bus
        self.configuration = configuration
    }

    public func add(to router: Router<HTTPFrontContext>) {
        router.get("events") { request, _ in self.respond(request) }
    }

    func respond(_ request: Request) -> Response {
        let exchanges: Set<ManagerEvent.Exchange>
        do throws(QueryError) {
            exchanges = try Self.exchanges(request.uri.queryParameters.getAll("exchange").map { String($0) })
        } catch {
            return Response(
                status: .badRequest,
                headers: [.contentType: "text/plain; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: error.message + "\n"))
            )
        }
        let subscription = bus.subscribe(capacity: configuration.bufferEvents)
        let keepAlive = configuration.keepAlive
        let body = ResponseBody { writer in
            defer { subscription.close() }
            // A stream never ends by itself: the manager's shutdown ends it, so the front can stop.
            try await withGracefulShutdownHandler {
                try await Self.stream(subscription, exchanges: exchanges, keepAlive: keepAlive, to: &writer)
            } onGracefulShutdown: {
                subscription.close()
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: body
        )
    }

    static func stream(
        _ subscription: EventBusSubscription,
        exchanges: Set<ManagerEvent.Exchange>,
        keepAlive: Duration,
        to writer: inout any ResponseBodyWriter
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    try await Task.sleep(for: keepAlive)
                    subscription.poke()
                }
            }
            defer { group.cancelAll() }
            try await writer.write(ByteBuffer(string: ": torpor events\n\n"))
            while true {
                switch await subscription.nextOrIdle() {
                case .idle:
                    try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                case .delivery(nil):
                    return
                case .delivery(.some(let delivery)):
                    guard let frame = Self.frame(delivery, exchanges: exchanges) else { continue }
                    try await writer.write(ByteBuffer(string: frame))
                }
            }
        }
    }

    struct QueryError: Error {
        var message: String
    }

    /// The exchanges `?exchange=` keeps; every exchange when absent.
    static func exchanges(_ values: [String]) throws(QueryError) -> Set<ManagerEvent.Exchange> {
        let names = values.flatMap { $0.split(separator: ",").map { String($0) } }
        guard !names.isEmpty else { return Set(ManagerEvent.Exchange.allCases) }
        var result = Set<ManagerEvent.Exchange>()
        for name in names {
            guard let exchange = ManagerEvent.Exchange(rawValue: name) else {
                let known = ManagerEvent.Exchange.allCases.map(\.rawValue).joined(separator: ", ")
                throw QueryError(message: "/events: no exchange named '\(name)' (known: \(known))")
            }
            result.insert(exchange)
        }
        return result
    }

    /// One SSE frame; nil for an event of an exchange the client did not ask for.
    static func frame(_ delivery: EventDelivery, exchanges: Set<ManagerEvent.Exchange>) -> String? {
        switch delivery {
        case .dropped(let count):
            return "event: dropped\ndata: {\"dropped\":\(count)}\n\n"
        case .event(let event):
            guard exchanges.contains(event.exchange) else { return nil }
            // JSON from JSONEncoder has no raw newline, so one data line carries it.
            return "id: \(event.sequence)\nevent: \(event.exchange.rawValue)\ndata: "
                + String(decoding: event.envelope, as: UTF8.self) + "\n\n"
        }
    }
}
