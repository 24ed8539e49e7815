import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Snooze's events published to a real RabbitMQ broker (Debian's rabbitmq-server, started by the test on ports
/// 12100–12119) by a lab's manager (`torpor-lab up --rabbitmq`), read by a Snooze-style consumer (Python, pika)
/// bound with `#` to the `system` and `management` exchanges. One broker for the whole suite: it takes minutes to
/// boot on a loaded machine.
@Suite(
    "Snooze's events through a real RabbitMQ broker",
    .serialized,
    .enabled(if: EndToEnd.runs(RabbitMQBroker.problem), EndToEnd.reason(RabbitMQBroker.problem))
)
struct RabbitMQLabTests {
    @Test(
        """
        A consumer bound to management with # gets START with Snooze's routing key; with the broker stopped a VM \
        still starts, the broker back but refusing the manager's credentials is logged and retried, and the consumer \
        gets the events kept meanwhile once the credentials are accepted
        """
    )
    func startReachesAConsumerAndTheManagerCatchesUpAfterAnOutage() async throws {
        try EndToEnd.require(RabbitMQBroker.problem)
        let broker = try RabbitMQBroker()
        do {
            try await Self.outage(broker)
        } catch {
            await broker.tearDown()
            throw error
        }
        await broker.tearDown()
    }

    static func outage(_ broker: RabbitMQBroker) async throws {
        try await broker.start(users: true)
        let consumer = try SnoozeConsumer(port: broker.amqpPort, directory: broker.directory)
        do {
            try await withLab(broker, consumer)
        } catch {
            await consumer.stop()
            throw error
        }
        await consumer.stop()
    }

    static func withLab(_ broker: RabbitMQBroker, _ consumer: SnoozeConsumer) async throws {
        // Bound before the lab starts, so the agents' LC_JOIN reach it too.
        let bound = await eventually(.seconds(120)) { consumer.readyCount >= 1 }
        try #require(bound, "the consumer never bound: \(consumer.lines) \(broker.directory.path)/consumer.err")
        let passwordFile = broker.directory.appendingPathComponent("manager.password").path
        _ = FileManager.default.createFile(
            atPath: passwordFile,
            contents: Data("s3cret\n".utf8),
            attributes: [.posixPermissions: 0o600]
        )
        let metricsPort = TorporLabTests.freePortRange(count: 3)
        let lab = try await LabUnderTest.up(
            hosts: 2,
            extra: [
                "--rabbitmq", "127.0.0.1:\(broker.amqpPort)", "--rabbitmq-user", "torpor",
                "--rabbitmq-password-file", passwordFile, "--metrics-port", "\(metricsPort)",
            ]
        )
        defer { lab.tearDown() }

        let joined = await eventually(.seconds(90)) {
            consumer.messages(routingKey: "groupmanager.lab-manager").filter {
                ($0["body"] as? [String: Any])?["eventType"] as? String == "LC_JOIN"
            }.count >= 2
        }
        #expect(joined, "both agents' LC_JOIN on the system exchange: \(consumer.lines)")

        // A VM started with the CLI: START PENDING then PROCESSED on the management exchange, Snooze's routing key.
        #expect(try await lab.torpor(["vc", "define", "web"]).status == 0)
        let added = try await lab.torpor(["vc", "add", "web", try lab.template(cores: 1), "--name", "web-1"])
        try #require(added.status == 0, "\(added)")
        let started = try await lab.torpor(["vc", "start", "web"])
        try #require(started.status == 0, "\(started)")
        let host = try #require(try await lab.vms("web")["web-1"]?["host"] as? String)
        let processed = await eventually(.seconds(90)) {
            consumer.statuses(vm: "web-1", action: "START").contains("PROCESSED")
        }
        #expect(processed, "\(consumer.lines)")
        #expect(consumer.statuses(vm: "web-1", action: "START") == ["PENDING", "PROCESSED"], "\(consumer.lines)")
        // Snooze's routing keys: PENDING before placement names no host yet.
        #expect(
            consumer.messages(vm: "web-1", action: "START").map { $0["routingKey"] as? String ?? "" } == [
                "lab-manager.UNKNOWN.web-1.START", "lab-manager.\(host).web-1.START",
            ]
        )
        let start = try #require(consumer.messages(vm: "web-1", action: "START").last)
        #expect(start["exchange"] as? String == "management", "\(start)")
        #expect(start["contentType"] as? String == "application/json", "\(start)")
        let body = try #require(start["body"] as? [String: Any])
        #expect(Set(body.keys) == ["message", "status"], "Snooze's management body: \(body)")
        #expect((body["message"] as? [String: Any])?["status"] as? String == "RUNNING", "\(body)")

        // The broker stopped: the manager keeps working, a VM still starts.
        try await broker.stop()
        #expect(try await lab.torpor(["vc", "define", "db"]).status == 0)
        let addedDB = try await lab.torpor(["vc", "add", "db", try lab.template(cores: 1), "--name", "db-1"])
        try #require(addedDB.status == 0, "\(addedDB)")
        let startedDB = try await lab.torpor(["vc", "start", "db"])
        #expect(startedDB.status == 0, "the manager keeps working without its broker: \(startedDB)")
        let running = await lab.eventually(timeout: .seconds(90)) {
            try await lab.vms("db")["db-1"]?["state"] as? String == "running"
        }
        let dbVMs = try await lab.vms("db")
        #expect(running, "\(dbVMs)")

        // Back on a fresh database that does not know the manager's user: refused, logged, retried, nothing sent.
        try await broker.start(users: false)
        let rebound = await eventually(.seconds(120)) { consumer.readyCount >= 2 }
        #expect(rebound, "the consumer bound again: \(consumer.lines)")
        let refused = await eventually(.seconds(120)) { lab.log("manager").contains("ACCESS_REFUSED") }
        #expect(refused, "the refusal is logged: \(lab.log("manager").suffix(4000))")
        #expect(
            consumer.statuses(vm: "db-1", action: "START").isEmpty,
            "published without the credentials? \(consumer.lines)"
        )
        #expect(try await lab.hosts().count == 2, "the manager answers while refused")

        // The manager's user imported: what was kept arrives, in order.
        try await broker.importUsers()
        let caughtUp = await eventually(.seconds(120)) {
            consumer.statuses(vm: "db-1", action: "START").contains("PROCESSED")
        }
        #expect(caughtUp, "caught up: \(consumer.lines)")
        let statuses = consumer.statuses(vm: "db-1", action: "START")
        let pending = try #require(statuses.firstIndex(of: "PENDING"), "\(consumer.lines)")
        #expect(pending < (statuses.firstIndex(of: "PROCESSED") ?? 0), "in order: \(statuses)")
        let log = lab.log("manager")
        #expect(
            log.contains("rabbitmq broker unreachable or refusing; events are kept and retried"),
            "\(log.suffix(4000))"
        )
        #expect(log.contains("rabbitmq broker reachable again"), "\(log.suffix(4000))")
        #expect(!log.contains("events dropped before reaching rabbitmq"), "\(log.suffix(4000))")
        // Counted in the manager's metrics: every message the consumer got was confirmed, failures were counted.
        let scrape = try await Scrape.take("127.0.0.1:\(metricsPort)")
        let published = scrape.value("torpor_events_rabbitmq_published_total") ?? 0
        #expect(published >= Double(consumer.messages.count), "\(published) for \(consumer.messages.count) received")
        #expect((scrape.value("torpor_events_rabbitmq_failures_total") ?? 0) >= 2)
        #expect(scrape.value("torpor_events_rabbitmq_dropped_total") == nil, "nothing dropped, never incremented")
    }

    static func eventually(_ timeout: Duration, _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(250))
        }
        return condition()
    }
}

/// torpor-manager refuses to start on a bad `events.rabbitmq` section (a password file others may read or that is
/// missing, a misspelt key): exit 64, naming the key and its line. A good one with no broker listening runs on.
@Suite struct ManagerRabbitMQConfigurationTests {
    @Test(arguments: [
        ("password_file: PASSWORD", 0o644, "events.rabbitmq.password_file"),
        ("password_file: DIR/missing.password", 0o600, "events.rabbitmq.password_file"),
        ("password_file: PASSWORD", 0o600, nil as String?),
        ("pasword_file: PASSWORD", 0o600, "events.rabbitmq.pasword_file"),
    ])
    func aBadRabbitMQSectionStopsTheManagerWithExit64(line: String, mode: Int, key: String?) async throws {
        let directory = try ProcessRunner.scratchDirectory(prefix: "torpor-rabbitmq-config")
        defer { try? FileManager.default.removeItem(at: directory) }
        let password = directory.appendingPathComponent("rabbitmq.password").path
        _ = FileManager.default.createFile(
            atPath: password,
            contents: Data("s3cret\n".utf8),
            attributes: [.posixPermissions: mode]
        )
        let port = TorporLabTests.freePortRange(count: 1)
        let config = directory.appendingPathComponent("manager.yaml")
        let entry = line.replacingOccurrences(of: "PASSWORD", with: password)
            .replacingOccurrences(of: "DIR", with: directory.path)
        try """
        manager_id: m
        listen: 127.0.0.1:\(port)
        database: \(directory.path)/manager.sqlite
        events:
          rabbitmq:
            host: 127.0.0.1
            \(entry)
            port: 12120
            retry_initial: 100ms
        """.write(to: config, atomically: true, encoding: .utf8)
        let manager = try BackgroundProcess(
            [try KVMLab.product("torpor-manager"), "--config", config.path, "--log", "stderr"],
            stdout: directory.appendingPathComponent("stdout"),
            stderr: directory.appendingPathComponent("stderr")
        )
        guard let key else {
            // A good section: the manager runs, though no broker listens on 12120 (retried in the background).
            try await Task.sleep(for: .seconds(3))
            #expect(manager.isRunning, "\(manager.stderr)")
            #expect(await manager.terminate(grace: .seconds(90)) == 0, "\(manager.stderr)")
            return
        }
        #expect(await manager.waitForExit(timeout: .seconds(60)), "still running: \(manager.stderr)")
        if manager.isRunning { manager.kill() }
        #expect(manager.exitStatus == 64, "\(manager.stderr)")
        #expect(manager.stderr.contains("manager.yaml:7: \(key)"), "\(manager.stderr)")
    }
}
