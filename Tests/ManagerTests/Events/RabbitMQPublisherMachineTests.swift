import Foundation
import Testing

@testable import Manager

/// The RabbitMQ publisher's decisions, event by event, without a broker: connect, read only while connected, keep
/// an unconfirmed event for the next connection, back off and log only the 1st, 2nd, 4th… failure in a row or a new
/// reason, count what the buffer dropped.
@Suite struct RabbitMQPublisherMachineTests {
    typealias Machine = RabbitMQPublisherMachine
    typealias Step = (event: Machine.Event, actions: [Machine.Action])

    static let retry = BrokerRetry(initial: .seconds(1), maximum: .seconds(4))
    static let start = ManagerEvent(
        exchange: .management,
        routingKey: "gm.h1.vm1.START",
        eventType: "START",
        status: .pending,
        message: Data("{}".utf8),
        sequence: 1
    )
    static let join = ManagerEvent(
        exchange: .system,
        routingKey: "groupmanager.gm",
        eventType: "LC_JOIN",
        message: Data("{}".utf8),
        sequence: 2
    )

    static let scenarios: [(name: String, steps: [Step])] = [
        (
            "connects, then reads and publishes one event at a time",
            [
                (.started, [.connect]),
                (.connected, [.logConnected(afterFailures: 0), .readNext]),
                (.delivered(.event(start)), [.publish(start)]),
                (.published, [.readNext]),
                (.delivered(.event(join)), [.publish(join)]),
                (.published, [.readNext]),
            ]
        ),
        (
            "a broker down at start: doubling waits, failures 1, 2, 4 and a new reason logged, reading only once connected",
            [
                (.started, [.connect]),
                (
                    .connectFailed(reason: "refused"),
                    [.logFailure(reason: "refused", failures: 1, retryIn: .seconds(1)), .retry(after: .seconds(1))]
                ),
                (.retryDue, [.connect]),
                (
                    .connectFailed(reason: "refused"),
                    [.logFailure(reason: "refused", failures: 2, retryIn: .seconds(2)), .retry(after: .seconds(2))]
                ),
                (.retryDue, [.connect]),
                (.connectFailed(reason: "refused"), [.retry(after: .seconds(4))]),
                (.retryDue, [.connect]),
                (
                    .connectFailed(reason: "refused"),
                    [.logFailure(reason: "refused", failures: 4, retryIn: .seconds(4)), .retry(after: .seconds(4))]
                ),
                (.retryDue, [.connect]),
                // Back, but refusing the credentials: a new reason is logged whatever the count.
                (
                    .connectFailed(reason: "ACCESS_REFUSED"),
                    [
                        .logFailure(reason: "ACCESS_REFUSED", failures: 5, retryIn: .seconds(4)),
                        .retry(after: .seconds(4)),
                    ]
                ),
                (.retryDue, [.connect]),
                (.connectFailed(reason: "ACCESS_REFUSED"), [.retry(after: .seconds(4))]),
                (.retryDue, [.connect]),
                (.connected, [.logConnected(afterFailures: 6), .readNext]),
            ]
        ),
        (
            "an event whose publish failed is published first on the next connection, and the count starts again",
            [
                (.started, [.connect]),
                (.connected, [.logConnected(afterFailures: 0), .readNext]),
                (.delivered(.event(start)), [.publish(start)]),
                (
                    .publishFailed(reason: "closed"),
                    [.logFailure(reason: "closed", failures: 1, retryIn: .seconds(1)), .retry(after: .seconds(1))]
                ),
                (.retryDue, [.connect]),
                (
                    .connectFailed(reason: "refused"),
                    [.logFailure(reason: "refused", failures: 2, retryIn: .seconds(2)), .retry(after: .seconds(2))]
                ),
                (.retryDue, [.connect]),
                (.connected, [.logConnected(afterFailures: 2), .publish(start)]),
                (.published, [.readNext]),
                (.delivered(.event(join)), [.publish(join)]),
                (
                    .publishFailed(reason: "closed"),
                    [.logFailure(reason: "closed", failures: 1, retryIn: .seconds(1)), .retry(after: .seconds(1))]
                ),
            ]
        ),
        (
            "what the subscription's buffer dropped during an outage is logged with the running total",
            [
                (.started, [.connect]),
                (.connected, [.logConnected(afterFailures: 0), .readNext]),
                (.delivered(.dropped(3)), [.logDropped(count: 3, total: 3), .readNext]),
                (.delivered(.event(start)), [.publish(start)]),
                (.published, [.readNext]),
                (.delivered(.dropped(2)), [.logDropped(count: 2, total: 5), .readNext]),
            ]
        ),
        (
            "events out of order are ignored, never acted on twice",
            [
                (.connected, []),
                (.started, [.connect]),
                (.started, []),
                (.published, []),
                (.delivered(.event(start)), []),
                (.retryDue, []),
                (.connected, [.logConnected(afterFailures: 0), .readNext]),
                (.connectFailed(reason: "late"), []),
                (.retryDue, []),
            ]
        ),
    ]

    @Test(arguments: scenarios.indices)
    func scenario(_ index: Int) {
        let (name, steps) = Self.scenarios[index]
        var machine = Machine(retry: Self.retry)
        for (number, step) in steps.enumerated() {
            let actions = machine.handle(step.event)
            #expect(actions == step.actions, "\(name), step \(number + 1): \(step.event)")
        }
    }

    @Test func anUnconfirmedEventIsKeptUntilTheBrokerConfirmsIt() {
        var machine = Machine(retry: Self.retry)
        _ = machine.handle(.started)
        _ = machine.handle(.connected)
        _ = machine.handle(.delivered(.event(Self.start)))
        #expect(machine.pending == Self.start && machine.phase == .publishing)
        _ = machine.handle(.publishFailed(reason: "closed"))
        #expect(machine.pending == Self.start && machine.phase == .waitingToRetry && machine.failures == 1)
        _ = machine.handle(.retryDue)
        _ = machine.handle(.connected)
        _ = machine.handle(.published)
        #expect(machine.pending == nil && machine.phase == .reading && machine.failures == 0)
    }

    @Test(arguments: [
        (1, 1_000), (2, 2_000), (3, 4_000), (4, 8_000), (5, 8_000), (60, 8_000),
    ])
    func retryWaitsDoubleUpToTheMaximum(_ failures: Int, _ milliseconds: Int64) {
        let retry = BrokerRetry(initial: .seconds(1), maximum: .seconds(8))
        #expect(retry.delay(afterFailures: failures) == .milliseconds(milliseconds))
    }

    @Test(arguments: [(1, true), (2, true), (3, false), (4, true), (5, false), (8, true), (1000, false), (1024, true)])
    func onlyPowersOfTwoFailuresInARowAreLogged(_ failures: Int, _ logged: Bool) {
        #expect(BrokerRetry(initial: .seconds(1), maximum: .seconds(30)).logs(failure: failures) == logged)
    }
}
