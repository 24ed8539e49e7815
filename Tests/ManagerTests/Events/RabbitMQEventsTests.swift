import Foundation
import Logging
import RabbitMQ
import Testing

@testable import Manager

/// Snooze's events published to a real RabbitMQ broker the test starts, read by a Snooze-style consumer (Python,
/// pika) bound to the `management` and `system` exchanges with `#`; with the broker stopped the manager keeps
/// working, and the events of that time arrive once the broker is back and takes the manager's credentials again.
@Suite(
    .serialized,
    .enabled(if: RabbitMQBroker.available || requiresEndToEnd, "needs rabbitmq-server and python3-pika (scripts/install-deps)")
)
struct RabbitMQEventsTests {
    /// The consumer's output: JSON lines (messages) and `ready` lines (bound).
    final class Consumer: @unchecked Sendable {
        let process = Process()
        let output: URL

        init(port: Int, directory: URL) throws {
            let script = directory.appendingPathComponent("consumer.py")
            try Self.script.write(to: script, atomically: true, encoding: .utf8)
            output = directory.appendingPathComponent("consumer.out")
            _ = FileManager.default.createFile(atPath: output.path, contents: nil)
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [script.path, "\(port)"]
            process.standardOutput = FileHandle(forWritingAtPath: output.path)
            process.standardError = FileHandle(forWritingAtPath: directory.appendingPathComponent("consumer.err").path)
                ?? FileHandle.nullDevice
            try process.run()
        }

        static let script = #"""
"""A Snooze-style consumer for the RabbitMQ events test: binds a queue to Snooze's `system` and `management`
topic exchanges with `#`, prints one JSON line per message and `ready` after each (re)bind. It reconnects when
the broker goes away, declaring everything again, until killed."""
import json
import sys
import time

import pika

port = int(sys.argv[1])

while True:
    try:
        parameters = pika.ConnectionParameters(
            host="127.0.0.1", port=port, credentials=pika.PlainCredentials("snooze", "snooze"), heartbeat=0,
            connection_attempts=1, socket_timeout=5,
        )
        connection = pika.BlockingConnection(parameters)
        channel = connection.channel()
        queue = channel.queue_declare(queue="", exclusive=True).method.queue
        for exchange in ("system", "management"):
            # As Snooze declared them: topic, not durable.
            channel.exchange_declare(exchange=exchange, exchange_type="topic", durable=False)
            channel.queue_bind(queue=queue, exchange=exchange, routing_key="#")
        print("ready", flush=True)

        def received(channel, method, properties, body):
            print(json.dumps({
                "exchange": method.exchange,
                "routingKey": method.routing_key,
                "contentType": properties.content_type,
                "body": json.loads(body),
            }), flush=True)

        channel.basic_consume(queue=queue, on_message_callback=received, auto_ack=True)
        channel.start_consuming()
    except Exception as error:  # the broker went away or is not up yet: try again
        print("waiting: %s" % type(error).__name__, file=sys.stderr, flush=True)
        time.sleep(0.2)
"""#

        var lines: [String] { ((try? String(contentsOf: output, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }
        var readyCount: Int { lines.filter { $0 == "ready" }.count }
        var messages: [[String: Any]] {
            lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }

        func stop() {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
    }

    static func eventually(_ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return try await condition()
    }

    @Test func aConsumerGetsStartWithSnoozesRoutingKeyAndCatchesUpAfterTheBrokerWasStopped() async throws {
        try #require(RabbitMQBroker.available, "TORPOR_REQUIRE_E2E=1 but rabbitmq-server or python3-pika is missing")
        let broker = try RabbitMQBroker()
        do {
            try await Self.run(broker)
        } catch {
            await broker.tearDown()
            throw error
        }
        await broker.tearDown()
    }

    static func run(_ broker: RabbitMQBroker) async throws {
        try await broker.start(users: true)
        let consumer = try Consumer(port: broker.amqpPort, directory: broker.directory)
        defer { consumer.stop() }
        try await SnoozeFront.with(hosts: ["h1", "h2"]) { front in
            #expect(await Self.eventually { consumer.readyCount >= 1 }, "\(consumer.lines)")
            let managerID = await front.leader.configuration.managerID
            let bus = await front.leader.events
            let publisher = RabbitMQPublisher(
                endpoint: AMQPEndpoint(host: "127.0.0.1", port: broker.amqpPort, user: "torpor", password: "s3cret"),
                subscription: bus.subscribe(capacity: 1000),
                retry: BrokerRetry(initial: .milliseconds(200), maximum: .seconds(2)),
                logger: Logger(label: "rabbitmq-test") { _ in CapturedLogHandler(logs: front.logs) }
            )
            let publishing = Task { try await publisher.run() }
            defer { publishing.cancel() }

            await GroupLeaderMigrationTests.join(front.leader, ["h2"])
            let started = try await Curl.run([
                "-X", "POST", "-d", SnoozeSeedRequests.startVirtualCluster, "\(front.base)/groupmanager?startVirtualCluster",
            ])
            #expect(started.status == 200, "\(started)")
            func messages(_ key: String) -> [[String: Any]] { consumer.messages.filter { $0["routingKey"] as? String == key } }
            let startKey = "\(managerID).h1.debian1.START"
            #expect(
                await Self.eventually {
                    messages(startKey).contains { ($0["body"] as? [String: Any])?["status"] as? String == "PROCESSED" }
                },
                "\(consumer.lines)"
            )
            let start = try #require(messages(startKey).last)
            #expect(start["exchange"] as? String == "management" && start["contentType"] as? String == "application/json")
            let body = try #require(start["body"] as? [String: Any])
            #expect(Set(body.keys) == ["message", "status"], "Snooze's management template: \(body)")
            #expect((body["message"] as? [String: Any])?["status"] as? String == "RUNNING")
            #expect(
                consumer.messages.contains {
                    $0["exchange"] as? String == "system" && $0["routingKey"] as? String == "groupmanager.\(managerID)"
                        && ($0["body"] as? [String: Any])?["eventType"] as? String == "LC_JOIN"
                },
                "\(consumer.lines)"
            )

            // The broker stopped, and when it is back (on a fresh database) it refuses the manager's credentials for
            // a while: the consumer binds again meanwhile, so what the manager kept reaches it.
            try await broker.stop()
            let suspended = try await Curl.run([
                "-X", "POST", "-d", #"{"virtualMachineId":"debian1"}"#, "\(front.base)/groupmanager?suspendVirtualMachine",
            ])
            #expect(suspended.status == 200 && suspended.body == "true", "the manager keeps working: \(suspended)")
            try await broker.start(users: false)
            #expect(await Self.eventually { consumer.readyCount >= 2 }, "\(consumer.lines)")
            try await Task.sleep(for: .seconds(3))
            #expect(messages("\(managerID).h1.debian1.SUSPEND").isEmpty, "published without the credentials?")
            try await broker.importUsers()
            #expect(
                await Self.eventually {
                    messages("\(managerID).h1.debian1.SUSPEND").map {
                        ($0["body"] as? [String: Any])?["status"] as? String ?? ""
                    } == ["PENDING", "PROCESSED"]
                },
                "caught up: \(consumer.lines)"
            )
            #expect(front.logs.all.contains { $0.message == "rabbitmq broker unreachable; events are kept and retried" })
            #expect(front.logs.all.contains { $0.message == "rabbitmq broker reachable again" })
        }
    }

    @Test(arguments: [
        (1, 1_000), (2, 2_000), (3, 4_000), (4, 8_000), (5, 8_000), (60, 8_000),
    ])
    func retryWaitsDoubleUpToTheMaximum(_ failures: Int, _ milliseconds: Int64) {
        let retry = BrokerRetry(initial: .seconds(1), maximum: .seconds(8))
        #expect(retry.delay(afterFailures: failures) == .milliseconds(milliseconds))
    }

    @Test(arguments: [(1, true), (2, true), (3, false), (4, true), (5, false), (8, true), (1000, false), (1024, true)])
    func onlyPowersOfTwoFailuresAreLogged(_ failures: Int, _ logged: Bool) {
        #expect(BrokerRetry(initial: .seconds(1), maximum: .seconds(30)).logs(failure: failures) == logged)
    }
}
