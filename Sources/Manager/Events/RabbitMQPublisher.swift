import Logging
import RabbitMQ
import ServiceLifecycle

/// Publishes the manager's events to a RabbitMQ broker on Snooze's three topic exchanges (`system`, `management`,
/// `monitoring`) with Snooze's routing keys and bodies, so Snooze's consumers keep working. The decisions are
/// `RabbitMQPublisherMachine`'s; this carries its actions out, every rabbitmq-c call on a thread of its own. A broker
/// down or refusing the credentials is logged and retried with backoff and never stops the manager; meanwhile events
/// wait in the subscription's bounded buffer and are published, in order, once it is back.
public struct RabbitMQPublisher: Service {
    let endpoint: AMQPEndpoint
    let subscription: EventBusSubscription
    let retry: BrokerRetry
    let logger: Logger
    let metrics: ManagerMetrics
    /// Each connect, login, declare and confirm waits at most this long.
    let timeout: Duration

    public init(
        endpoint: AMQPEndpoint,
        subscription: EventBusSubscription,
        retry: BrokerRetry,
        logger: Logger,
        metrics: ManagerMetrics = .none,
        timeout: Duration = .seconds(10)
    ) {
        self.metrics = metrics
        self.endpoint = endpoint
        self.subscription = subscription
        self.retry = retry
        self.logger = logger
        self.timeout = timeout
    }

    /// The connection, touched only on the AMQP thread (one job at a time), hence unchecked.
    final class Link: @unchecked Sendable {
        var connection: AMQPConnection?
    }

    public func run() async throws {
        let thread = AMQPThread(name: "torpor-amqp")
        let link = Link()
        await cancelWhenGracefulShutdown { await drive(thread, link) }
        subscription.close()
        _ = try? await thread.run { () throws(AMQPError) in
            link.connection?.close()
            link.connection = nil
        }
        thread.stop()
    }

    func drive(_ thread: AMQPThread, _ link: Link) async {
        var machine = RabbitMQPublisherMachine(retry: retry)
        var actions = machine.handle(.started)
        while !actions.isEmpty, !Task.isCancelled {
            let action = actions.removeFirst()
            switch await perform(action, thread, link) {
            case .event(let event): actions += machine.handle(event)
            case .nothing: break
            case .stop: return
            }
        }
    }

    enum Outcome {
        case event(RabbitMQPublisherMachine.Event)
        case nothing
        /// The subscription ended or the task was cancelled.
        case stop
    }

    func perform(_ action: RabbitMQPublisherMachine.Action, _ thread: AMQPThread, _ link: Link) async -> Outcome {
        let endpoint = self.endpoint
        let timeout = self.timeout
        switch action {
        case .connect:
            do {
                try await thread.run { () throws(AMQPError) in
                    link.connection = nil
                    let connection = try AMQPConnection(endpoint, timeout: timeout)
                    for exchange in ManagerEvent.Exchange.allCases {
                        try connection.declareTopicExchange(exchange.rawValue)
                    }
                    link.connection = connection
                }
                return .event(.connected)
            } catch {
                metrics.rabbitMQFailed()
                return .event(.connectFailed(reason: error.description))
            }
        case .readNext:
            guard let delivery = await subscription.next() else { return .stop }
            return .event(.delivered(delivery))
        case .publish(let event):
            do {
                try await thread.run { () throws(AMQPError) in
                    guard let connection = link.connection else {
                        throw AMQPError(step: .publish, message: "not connected")
                    }
                    do throws(AMQPError) {
                        try connection.publish(
                            exchange: event.exchange.rawValue,
                            routingKey: event.routingKey,
                            body: Array(event.snoozeBody),
                            contentType: "application/json"
                        )
                    } catch {
                        // Never used again: the next connect starts afresh.
                        link.connection = nil
                        throw error
                    }
                }
                metrics.rabbitMQPublished()
                return .event(.published)
            } catch {
                metrics.rabbitMQFailed()
                return .event(.publishFailed(reason: error.description))
            }
        case .retry(let delay):
            do {
                try await Task.sleep(for: delay)
            } catch {
                return .stop
            }
            return .event(.retryDue)
        case .logConnected(let failures):
            logger.notice(
                failures > 0 ? "rabbitmq broker reachable again" : "publishing events to rabbitmq",
                metadata: [.broker: "\(endpoint)", .failures: "\(failures)"]
            )
            return .nothing
        case .logFailure(let reason, let failures, let delay):
            logger.warning(
                "rabbitmq broker unreachable or refusing; events are kept and retried",
                metadata: [.broker: "\(endpoint)", .error: "\(reason)", .failures: "\(failures)", .retryIn: "\(delay)"]
            )
            return .nothing
        case .logDropped(let count, let total):
            metrics.rabbitMQDropped(count)
            logger.warning(
                "events dropped before reaching rabbitmq: the broker was away longer than the buffer holds",
                metadata: [.broker: "\(endpoint)", .count: "\(count)", .total: "\(total)"]
            )
            return .nothing
        }
    }
}
