/// The RabbitMQ publisher's decisions, without I/O: events in, actions out (`RabbitMQPublisher` carries the
/// actions out on its AMQP thread and feeds back what happened).
///
/// Events are read from the bus only while connected, so during an outage they wait in the subscription's bounded
/// buffer (oldest dropped and counted there). An event read but not confirmed by the broker is kept and published
/// first on the next connection: delivery is at least once, in the bus's order. Failures to connect or publish are
/// retried with `BrokerRetry`'s backoff and never end the publisher; only the 1st, 2nd, 4th… in a row are logged,
/// and any whose reason differs from the one before (the broker back but refusing the credentials is news).
public struct RabbitMQPublisherMachine: Sendable, Equatable {
    public enum Event: Sendable, Equatable {
        case started
        /// Connected, logged in and Snooze's exchanges declared.
        case connected
        case connectFailed(reason: String)
        /// The subscription's next delivery.
        case delivered(EventDelivery)
        /// The broker confirmed the event being published.
        case published
        case publishFailed(reason: String)
        /// The wait asked for by `retry(after:)` is over.
        case retryDue
    }

    public enum Action: Sendable, Equatable {
        /// Drop any connection, open a new one and declare the exchanges, then feed `connected` or `connectFailed`.
        case connect
        /// Wait for the subscription's next delivery, then feed `delivered`.
        case readNext
        /// Publish and wait for the broker's confirm, then feed `published` or `publishFailed`.
        case publish(ManagerEvent)
        /// Sleep, then feed `retryDue`.
        case retry(after: Duration)
        /// Log that events flow (again), after `failures` failures in a row (0: the first connection).
        case logConnected(afterFailures: Int)
        case logFailure(reason: String, failures: Int, retryIn: Duration)
        /// Log that the subscription's buffer overflowed: `count` events lost now, `total` since start.
        case logDropped(count: UInt64, total: UInt64)
    }

    public enum Phase: Sendable, Equatable {
        case idle
        case connecting
        case waitingToRetry
        case reading
        case publishing
    }

    public let retry: BrokerRetry
    public private(set) var phase = Phase.idle
    /// Failures in a row since the last successful connection.
    public private(set) var failures = 0
    /// Taken from the bus and not yet confirmed by the broker.
    public private(set) var pending: ManagerEvent?
    /// Events the subscription's buffer dropped while the broker was away, since start.
    public private(set) var droppedTotal: UInt64 = 0
    /// The last failure's reason since the last successful connection.
    public private(set) var lastFailure: String?

    public init(retry: BrokerRetry) {
        self.retry = retry
    }

    public mutating func handle(_ event: Event) -> [Action] {
        switch (event, phase) {
        case (.started, .idle), (.retryDue, .waitingToRetry):
            phase = .connecting
            return [.connect]
        case (.connected, .connecting):
            let log = Action.logConnected(afterFailures: failures)
            failures = 0
            lastFailure = nil
            if let pending {
                phase = .publishing
                return [log, .publish(pending)]
            }
            phase = .reading
            return [log, .readNext]
        case (.connectFailed(let reason), .connecting), (.publishFailed(let reason), .publishing):
            // A failed publish keeps `pending`: the broker never confirmed it.
            failures += 1
            phase = .waitingToRetry
            let delay = retry.delay(afterFailures: failures)
            let isNews = reason != lastFailure
            lastFailure = reason
            guard retry.logs(failure: failures) || isNews else { return [.retry(after: delay)] }
            return [.logFailure(reason: reason, failures: failures, retryIn: delay), .retry(after: delay)]
        case (.delivered(.event(let event)), .reading):
            pending = event
            phase = .publishing
            return [.publish(event)]
        case (.delivered(.dropped(let count)), .reading):
            droppedTotal += count
            return [.logDropped(count: count, total: droppedTotal), .readNext]
        case (.published, .publishing):
            pending = nil
            phase = .reading
            return [.readNext]
        default:
            // Out of order (a driver bug): ignored rather than acted on twice.
            return []
        }
    }
}
