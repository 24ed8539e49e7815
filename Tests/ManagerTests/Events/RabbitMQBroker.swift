import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A private RabbitMQ broker for one test: its own node name, database, logs and Erlang cookie in a temporary
/// directory, and every port (AMQP, distribution, epmd, the CLI's distribution) in the events helper's fixed range
/// 12100–12119. Started and stopped (for real) by the test; `tearDown` leaves nothing running.
final class RabbitMQBroker: @unchecked Sendable {
    static let server = "/usr/lib/rabbitmq/bin/rabbitmq-server"
    static let control = "/usr/lib/rabbitmq/bin/rabbitmqctl"
    static var available: Bool {
        [server, control, "/usr/bin/python3"].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
            && (try? Process.run(URL(fileURLWithPath: "/usr/bin/python3"), arguments: ["-c", "import pika"]))
                .map { process in
                    process.waitUntilExit()
                    return process.terminationStatus == 0
                } ?? false
    }

    let directory: URL
    let amqpPort = 12100
    private var process: Process?

    /// The broker's users: `torpor` (the manager) and `snooze` (the consumer, as in Snooze's documentation).
    static let definitions = """
        {"users": [{"name": "torpor", "password": "s3cret", "tags": ""}, {"name": "snooze", "password": "snooze", "tags": ""}],
         "vhosts": [{"name": "/"}],
         "permissions": [{"user": "torpor", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"},
                         {"user": "snooze", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"}]}
        """

    /// Each start's database: a start with a fresh one forgets every user and exchange.
    private var database = 0

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("torpor-rabbitmq-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Self.definitions.write(to: definitionsFile, atomically: true, encoding: .utf8)
        try "[].\n".write(to: directory.appendingPathComponent("enabled_plugins"), atomically: true, encoding: .utf8)
        // Erlang nodes and the CLI must share a cookie, only its owner may read it.
        let cookie = directory.appendingPathComponent(".erlang.cookie").path
        _ = FileManager.default.createFile(atPath: cookie, contents: Data("TORPOREVENTSTEST".utf8))
        chmod(cookie, 0o400)
    }

    var definitionsFile: URL { directory.appendingPathComponent("definitions.json") }

    var environment: [String: String] {
        [
            "PATH": "/usr/lib/rabbitmq/bin:/usr/bin:/bin",
            "HOME": directory.path,
            "LANG": "C.UTF-8",
            "RABBITMQ_NODENAME": "torpor-events@localhost",
            "RABBITMQ_NODE_PORT": "\(amqpPort)",
            "RABBITMQ_DIST_PORT": "\(amqpPort + 1)",
            "ERL_EPMD_PORT": "\(amqpPort + 2)",
            "RABBITMQ_CTL_DIST_PORT_MIN": "\(amqpPort + 3)",
            "RABBITMQ_CTL_DIST_PORT_MAX": "\(amqpPort + 19)",
            "RABBITMQ_MNESIA_BASE": directory.appendingPathComponent("mnesia-\(database)").path,
            "RABBITMQ_LOG_BASE": directory.appendingPathComponent("log").path,
            "RABBITMQ_CONFIG_FILE": directory.appendingPathComponent("rabbitmq").path,
            "RABBITMQ_ENABLED_PLUGINS_FILE": directory.appendingPathComponent("enabled_plugins").path,
            "RABBITMQ_PID_FILE": directory.appendingPathComponent("rabbitmq.pid").path,
        ]
    }

    /// Starts the node on a fresh database and waits (up to 3 minutes on a loaded machine) until it accepts AMQP.
    /// With `users` both users exist from the start; without, only `snooze` does (the manager is refused until
    /// `importUsers()`).
    func start(users: Bool) async throws {
        database += 1
        let config = "listeners.tcp.default = 127.0.0.1:\(amqpPort)\nloopback_users = none\n"
            + (users ? "load_definitions = \(definitionsFile.path)\n" : "default_user = snooze\ndefault_pass = snooze\n")
        try config.write(to: directory.appendingPathComponent("rabbitmq.conf"), atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.server)
        process.environment = environment
        let log = directory.appendingPathComponent("server-\(database).out").path
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: log)
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        self.process = process
        let deadline = ContinuousClock.now + .seconds(180)
        while ContinuousClock.now < deadline, process.isRunning {
            // The AMQP listener opens once the broker has booted.
            if Self.accepts(port: amqpPort) { return }
            try await Task.sleep(for: .milliseconds(500))
        }
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        throw Failure(description: "rabbitmq-server did not start: \(output.suffix(3000))")
    }

    /// Adds the manager's user to a broker started without it.
    func importUsers() async throws {
        let imported = try await ctl(["import_definitions", definitionsFile.path])
        guard imported.status == 0 else { throw Failure(description: "import_definitions: \(imported.text)") }
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

    /// Stops the node for real: SIGTERM to rabbitmq-server, which stops the Erlang node, and waits for it.
    func stop() async throws {
        guard let process else { return }
        process.terminate()
        let deadline = ContinuousClock.now + .seconds(90)
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(200)) }
        self.process = nil
        guard !Self.accepts(port: amqpPort) else { throw Failure(description: "the broker still accepts after its stop") }
    }

    struct Output {
        var status: Int32
        var text: String
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// rabbitmqctl against this node.
    @discardableResult
    func ctl(_ arguments: [String]) async throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.control)
        process.arguments = ["-q"] + arguments
        process.environment = environment
        let out = directory.appendingPathComponent("ctl-\(UUID().uuidString).out")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out) }
        process.standardOutput = FileHandle(forWritingAtPath: out.path)
        process.standardError = FileHandle(forWritingAtPath: out.path)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            process.terminationHandler = { _ in continuation.resume() }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        return Output(status: process.terminationStatus, text: (try? String(contentsOf: out, encoding: .utf8)) ?? "")
    }

    /// Stops the node if it runs, and the epmd it started, and removes the directory.
    func tearDown() async {
        if process != nil { try? await stop() }
        let epmd = Process()
        epmd.executableURL = URL(fileURLWithPath: "/usr/bin/epmd")
        epmd.arguments = ["-kill"]
        epmd.environment = environment
        if (try? epmd.run()) != nil { epmd.waitUntilExit() }
        try? FileManager.default.removeItem(at: directory)
    }
}
