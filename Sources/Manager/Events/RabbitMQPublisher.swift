import Logging
import RabbitMQ
import ServiceLifecycle

/// Publishes the manager's events to a RabbitMQ broker on Snooze's three topic exchanges (`system`, `management`,
/// `monitoring`) with Snooze's routing keys and bodies, so Snooze's consumers keep working. Every rabbitmq-c call
/// runs on a thread of its own. A broker down or refusing the credentials is logged and retried with backoff and
/// never stops the manager; meanwhile events wait in the subscription's bounded buffer and are published, in order,
/// once it is back (each confirmed by the broker before the next).
public struct RabbitMQPublisher: Service {
    let endpoint: AMQPEndpoint
    let subscription: EventBusSubscription
    let retry: BrokerRetry
    let logger: Logger
    /// Each connect, login and confirm waits at most this long.
    let timeout: Duration

    public init(
        endpoint: AMQPEndpoint,
        subscription: EventBusSubscription,
        retry: BrokerRetry,
        logger: Logger,
        timeout: Duration = .seconds(10)
    ) {
        self.endpoint = endpoint
        self.subscription = subscription
        self.retry = retry
        self.logger = logger
        self.timeout = timeout
    }

    /// The connection, touched only on the AMQP thread.
    final class Link: @unchecked Sendable {
        var connection: AMQPConnection?
    }

    public func run() async throws {
        let thread = AMQPThread(name: "torpor-amqp")
        let link = Link()
        await cancelWhenGracefulShutdown { await publish(thread, link) }
        subscription.close()
        _ = try? await thread.run { () throws(AMQPError) in
            link.connection?.close()
            link.connection = nil
        }
        thread.stop()
    }

    func publish(_ thread: AMQPThread, _ link: Link) async {
        let endpoint = self.endpoint
        let timeout = self.timeout
        var failures = 0
        var pending: ManagerEvent?
        var connected = false
        while !Task.isCancelled {
            if !connected {
                do {
                    try await thread.run { () throws(AMQPError) in
                        link.connection = nil
                        let connection = try AMQPConnection(endpoint, timeout: timeout)
                        for exchange in ManagerEvent.Exchange.allCases {
                            try connection.declareTopicExchange(exchange.rawValue)
                        }
                        link.connection = connection
                    }
                    connected = true
                    logger.notice(
                        failures > 0 ? "rabbitmq broker reachable again" : "publishing events to rabbitmq",
                        metadata: [.broker: "\(endpoint)", .failures: "\(failures)"]
                    )
                    failures = 0
                } catch {
                    failures += 1
                    await wait(after: failures, error)
                    continue
                }
            }
            if pending == nil {
                switch await subscription.next() {
                case nil:
                    return
                case .dropped(let count)?:
                    logger.warning(
                        "events dropped before reaching rabbitmq: the broker was away longer than the buffer holds",
                        metadata: [.broker: "\(endpoint)", .count: "\(count)"]
                    )
                    continue
                case .event(let event)?:
                    pending = event
                }
            }
            guard let event = pending else { continue }
            do {
                try await thread.run { () throws(AMQPError) in
                    guard let connection = link.connection else {
                        throw AMQPError(step: .publish, message: "not connected")
                    }
                    try connection.publish(
                        exchange: event.exchange.rawValue,
                        routingKey: event.routingKey,
                        body: Array(event.snoozeBody),
                        contentType: "application/json"
                    )
                }
                pending = nil
            } catch {
                // Kept and published again on the next connection: the broker never confirmed it.
                connected = false
                failures += 1
                await wait(after: failures, error)
            }
        }
    }

    func wait(after failures: Int, _ error: AMQPError) async {
        let delay = retry.delay(afterFailures: failures)
        if retry.logs(failure: failures) {
            logger.warning(
                "rabbitmq broker unreachable; events are kept and retried",
                metadata: [
                    .broker: "\(endpoint)", .error: "\(error)", .failures: "\(failures)", .retryIn: "\(delay)",
                ]
            )
        }
        try? await Task.sleep(for: delay)
    }
}
