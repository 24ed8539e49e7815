import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A private RabbitMQ broker (Debian's rabbitmq-server) for one suite: its own node name, database, logs and Erlang
/// cookie in a scratch directory, and every port it opens (AMQP, Erlang distribution, epmd, the CLI's distribution)
/// in the rabbit helper's fixed range 12100–12119. Started and stopped for real by the test; `tearDown` leaves no
/// broker, epmd or directory behind. Children are spawned with `BackgroundProcess` (posix_spawn), never Foundation's
/// `Process`, whose long-lived children stall every other `Process` of the test run.
final class RabbitMQBroker: @unchecked Sendable {
    static let server = "/usr/lib/rabbitmq/bin/rabbitmq-server"
    static let control = "/usr/lib/rabbitmq/bin/rabbitmqctl"
    static let epmd = "/usr/bin/epmd"

    /// What is missing to run a broker and the Python consumer, or nil.
    static let problem: String? = {
        for path in [server, control, epmd, "/usr/bin/python3"]
        where !FileManager.default.isExecutableFile(atPath: path) {
            return "\(path) not found (scripts/install-deps: rabbitmq-server, python3-pika)"
        }
        let pika = try? BackgroundProcess(
            // pika for the consumer, Prometheus's parser for the manager's metrics.
            ["/usr/bin/python3", "-c", "import pika, prometheus_client.parser"],
            stdout: URL(fileURLWithPath: "/dev/null"),
            stderr: URL(fileURLWithPath: "/dev/null")
        )
        guard let pika, pika.waitForExitBlocking(timeout: .seconds(30)), pika.exitStatus == 0 else {
            return "python3 cannot import pika or prometheus_client (scripts/install-deps: python3-pika, "
                + "python3-prometheus-client)"
        }
        return nil
    }()

    let directory: URL
    let amqpPort = 12100
    private var server: BackgroundProcess?
    /// Each start's database: a start on a fresh one has forgotten every user and exchange.
    private var database = 0

    /// The broker's users: `torpor` (the manager) and `snooze` (the consumer, as in Snooze's documentation).
    static let definitions = """
        {"users": [{"name": "torpor", "password": "s3cret", "tags": ""},
                   {"name": "snooze", "password": "snooze", "tags": ""}],
         "vhosts": [{"name": "/"}],
         "permissions": [{"user": "torpor", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"},
                         {"user": "snooze", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"}]}
        """

    init() throws {
        directory = try ProcessRunner.scratchDirectory(prefix: "torpor-rabbitmq")
        try Self.definitions.write(to: definitionsFile, atomically: true, encoding: .utf8)
        try "[].\n".write(to: directory.appendingPathComponent("enabled_plugins"), atomically: true, encoding: .utf8)
        // The node and the CLI share this cookie; Erlang insists only its owner may read it.
        let cookie = directory.appendingPathComponent(".erlang.cookie").path
        _ = FileManager.default.createFile(atPath: cookie, contents: Data("TORPORRABBITTEST".utf8))
        chmod(cookie, 0o400)
    }

    var definitionsFile: URL { directory.appendingPathComponent("definitions.json") }
    var pidFile: String { directory.appendingPathComponent("rabbitmq.pid").path }

    var environment: [String: String] {
        [
            "PATH": "/usr/lib/rabbitmq/bin:/usr/bin:/bin",
            "HOME": directory.path,
            "LANG": "C.UTF-8",
            "RABBITMQ_NODENAME": "torpor-rabbit@localhost",
            "RABBITMQ_NODE_PORT": "\(amqpPort)",
            "RABBITMQ_DIST_PORT": "\(amqpPort + 1)",
            "ERL_EPMD_PORT": "\(amqpPort + 2)",
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_CTL_DIST_PORT_MIN": "\(amqpPort + 3)",
            "RABBITMQ_CTL_DIST_PORT_MAX": "\(amqpPort + 19)",
            "RABBITMQ_MNESIA_BASE": directory.appendingPathComponent("mnesia-\(database)").path,
            "RABBITMQ_LOG_BASE": directory.appendingPathComponent("log").path,
            "RABBITMQ_CONFIG_FILE": directory.appendingPathComponent("rabbitmq").path,
            "RABBITMQ_ENABLED_PLUGINS_FILE": directory.appendingPathComponent("enabled_plugins").path,
            "RABBITMQ_PID_FILE": pidFile,
        ]
    }

    /// Starts the node on a fresh database and waits until it accepts AMQP: up to 5 minutes, as booting took 2 on a
    /// loaded 2-core machine. With `users` both users exist from the start; without, only `snooze` does, so the
    /// manager is refused until `importUsers()`.
    func start(users: Bool) async throws {
        database += 1
        let config =
            "listeners.tcp.default = 127.0.0.1:\(amqpPort)\nloopback_users = none\n"
            + (users
                ? "load_definitions = \(definitionsFile.path)\n" : "default_user = snooze\ndefault_pass = snooze\n")
        try config.write(to: directory.appendingPathComponent("rabbitmq.conf"), atomically: true, encoding: .utf8)
        let log = directory.appendingPathComponent("server-\(database).out")
        let server = try BackgroundProcess([Self.server], stdout: log, stderr: log, environment: environment)
        self.server = server
        let deadline = ContinuousClock.now + .seconds(300)
        while ContinuousClock.now < deadline, server.isRunning {
            // The AMQP listener opens once the broker has booted.
            if Self.accepts(port: amqpPort) { return }
            try await Task.sleep(for: .milliseconds(500))
        }
        throw ProcessRunnerError(description: "rabbitmq-server did not start:\n\(server.stdout.suffix(3000))")
    }

    /// Adds the manager's user to a broker started without it.
    func importUsers() async throws {
        try await ctl(["import_definitions", definitionsFile.path])
    }

    /// rabbitmqctl against this node; throws with its output unless it exits 0.
    @discardableResult
    func ctl(_ arguments: [String]) async throws -> ProcessOutput {
        try await ProcessRunner.check(
            [Self.control, "-q"] + arguments,
            environment: environment,
            timeout: .seconds(120)
        )
    }

    /// Stops the node for real: SIGTERM to rabbitmq-server, whose trap stops the Erlang node, then waits for it and
    /// for the AMQP port to close; SIGKILL to the node (its pid file) if it lingers.
    func stop() async throws {
        guard let server else { return }
        self.server = nil
        _ = await server.terminate(grace: .seconds(90))
        killNode()
        let deadline = ContinuousClock.now + .seconds(30)
        while Self.accepts(port: amqpPort), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
        }
        guard !Self.accepts(port: amqpPort) else {
            throw ProcessRunnerError(description: "the broker still accepts on \(amqpPort) after its stop")
        }
    }

    /// The Erlang node of the pid file, if it still runs.
    private func killNode() {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1
        else { return }
        let command = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
        if command.contains(directory.path) { kill(pid, SIGKILL) }
    }

    /// Stops the node if it runs, and the epmd it started, and removes the directory.
    func tearDown() async {
        try? await stop()
        killNode()
        _ = try? await ProcessRunner.run([Self.epmd, "-kill"], environment: environment, timeout: .seconds(30))
        try? FileManager.default.removeItem(at: directory)
    }

    static func accepts(port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

/// A Snooze-style consumer (Python, pika): one exclusive queue bound with `#` to Snooze's `system` and `management`
/// topic exchanges, one JSON line per message, `ready` after each (re)bind; it reconnects when the broker goes away.
final class SnoozeConsumer: @unchecked Sendable {
    let process: BackgroundProcess
    let output: URL

    init(port: Int, directory: URL) throws {
        let script = directory.appendingPathComponent("consumer.py")
        try Self.script.write(to: script, atomically: true, encoding: .utf8)
        output = directory.appendingPathComponent("consumer.out")
        process = try BackgroundProcess(
            ["/usr/bin/python3", script.path, "\(port)"],
            stdout: output,
            stderr: directory.appendingPathComponent("consumer.err")
        )
    }

    static let script = #"""
        import json
        import sys
        import time

        import pika

        port = int(sys.argv[1])
        while True:
            try:
                connection = pika.BlockingConnection(pika.ConnectionParameters(
                    host="127.0.0.1", port=port, credentials=pika.PlainCredentials("snooze", "snooze"),
                    heartbeat=0, connection_attempts=1, socket_timeout=5))
                channel = connection.channel()
                queue = channel.queue_declare(queue="", exclusive=True).method.queue
                for exchange in ("system", "management"):
                    # As Snooze declared them: topic, not durable.
                    channel.exchange_declare(exchange=exchange, exchange_type="topic", durable=False)
                    channel.queue_bind(queue=queue, exchange=exchange, routing_key="#")
                print("ready", flush=True)

                def received(channel, method, properties, body):
                    print(json.dumps({"exchange": method.exchange, "routingKey": method.routing_key,
                                      "contentType": properties.content_type, "body": json.loads(body)}), flush=True)

                channel.basic_consume(queue=queue, on_message_callback=received, auto_ack=True)
                channel.start_consuming()
            except Exception as error:  # the broker went away or is not up yet
                print("waiting: %r" % error, file=sys.stderr, flush=True)
                time.sleep(0.2)
        """#

    var lines: [String] {
        ((try? String(contentsOf: output, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }
    var readyCount: Int { lines.filter { $0 == "ready" }.count }
    var messages: [[String: Any]] {
        lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func messages(routingKey: String) -> [[String: Any]] {
        messages.filter { $0["routingKey"] as? String == routingKey }
    }

    /// A VM's management messages for `action`, in arrival order, whatever their host word (`UNKNOWN` for a start's
    /// PENDING, sent before the VM is placed).
    func messages(vm: String, action: String) -> [[String: Any]] {
        messages.filter {
            let words = ($0["routingKey"] as? String ?? "").split(separator: ".")
            return words.count == 4 && words[2] == vm && words[3] == action
        }
    }

    /// Their statuses, in arrival order.
    func statuses(vm: String, action: String) -> [String] {
        messages(vm: vm, action: action).map { ($0["body"] as? [String: Any])?["status"] as? String ?? "?" }
    }

    func stop() async { _ = await process.terminate(grace: .seconds(5)) }
}
