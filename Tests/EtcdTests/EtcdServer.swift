import Etcd
import Foundation
import Logging
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Whether the end-to-end suites run: etcd is installed, or TORPOR_REQUIRE_E2E=1 (CI), where a missing etcd fails
/// the test naming it instead of skipping.
enum EtcdPrerequisite {
    static let present = FileManager.default.isExecutableFile(atPath: EtcdServer.path)
    static let required = ProcessInfo.processInfo.environment["TORPOR_REQUIRE_E2E"] == "1"
    static let runs = present || required
    static let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")

    static func require() throws {
        guard present else {
            throw Missing(
                description:
                    "TORPOR_REQUIRE_E2E=1 but \(EtcdServer.path) is missing (scripts/install-deps: etcd-server)"
            )
        }
    }

    struct Missing: Error, CustomStringConvertible { var description: String }
}

/// A private single-member etcd (Debian's etcd-server) for one suite: its data and log in a scratch directory, its
/// client and peer ports in this helper's fixed range (12200–12399). `stop()` leaves no process or directory.
/// The child is spawned with posix_spawn and reaped by polling waitpid(WNOHANG): nothing blocks a thread.
final class EtcdServer: @unchecked Sendable {
    static let path = "/usr/bin/etcd"

    let directory: URL
    let clientPort: Int
    let peerPort: Int
    private var pid: pid_t = 0

    init(clientPort: Int) throws {
        self.clientPort = clientPort
        peerPort = clientPort + 1
        // etcd fsyncs every write: on tmpfs, suites running side by side do not queue on one disk (a leader's
        // lease once went unconfirmed for 3 s behind another suite's writes, failing a handover timing).
        let base =
            FileManager.default.isWritableFile(atPath: "/dev/shm")
            ? URL(fileURLWithPath: "/dev/shm") : FileManager.default.temporaryDirectory
        directory = base.appendingPathComponent("torpor-etcd-\(clientPort)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    var endpoint: String { "http://127.0.0.1:\(clientPort)" }
    var log: URL { directory.appendingPathComponent("etcd.log") }

    /// Starts etcd and waits (up to 60 s) until it answers a read through its JSON gateway.
    func start() async throws {
        let peer = "http://127.0.0.1:\(peerPort)"
        pid = try Self.spawn(
            [
                Self.path, "--name", "torpor-test", "--data-dir", directory.appendingPathComponent("data").path,
                "--listen-client-urls", endpoint, "--advertise-client-urls", endpoint,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", "torpor-test=\(peer)", "--log-outputs", "stderr",
            ],
            output: log.path
        )
        let client = try EtcdClient(
            EtcdConfiguration(endpoints: [endpoint], requestTimeout: .seconds(2)),
            logger: Logger(label: "probe")
        )
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if (try? await client.range(prefix: "torpor-probe")) != nil {
                await client.shutdown()
                return
            }
            guard isRunning else { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        await client.shutdown()
        throw StartFailure(description: "etcd did not start on \(endpoint):\n\(logTail)")
    }

    var logTail: String {
        String(((try? String(contentsOf: log, encoding: .utf8)) ?? "").suffix(3000))
    }

    var isRunning: Bool {
        guard pid > 0 else { return false }
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == 0
    }

    /// Freezes etcd (SIGSTOP): connections stay open but nothing answers, as in a partition.
    func pause() { if pid > 0 { kill(pid, SIGSTOP) } }
    func resume() { if pid > 0 { kill(pid, SIGCONT) } }

    /// Kills etcd and waits for it; removes the directory when `remove`.
    func stop(remove: Bool = true) async {
        if pid > 0 {
            kill(pid, SIGCONT)
            kill(pid, SIGKILL)
            let deadline = ContinuousClock.now + .seconds(30)
            var status: Int32 = 0
            while waitpid(pid, &status, WNOHANG) == 0, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(50))
            }
            pid = 0
        }
        if remove { try? FileManager.default.removeItem(at: directory) }
    }

    struct StartFailure: Error, CustomStringConvertible { var description: String }

    /// posix_spawn with stdout and stderr appended to `output`.
    static func spawn(_ arguments: [String], output: String, environment: [String: String] = [:]) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        var variables = ProcessInfo.processInfo.environment
        variables.merge(environment) { _, new in new }
        let envp: [UnsafeMutablePointer<CChar>?] = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        let result = posix_spawn(&pid, arguments[0], &actions, nil, argv, envp)
        guard result == 0 else {
            throw StartFailure(description: "cannot start \(arguments[0]): \(String(cString: strerror(result)))")
        }
        return pid
    }
}

/// A TCP relay (python3, standard library) in front of etcd for one candidate: pausing it (SIGSTOP) cuts that
/// candidate off from etcd while the others still reach it.
final class Relay: @unchecked Sendable {
    let port: Int
    private var pid: pid_t = 0

    static let script = #"""
        import socket, sys, threading
        listen_port, target_port = int(sys.argv[1]), int(sys.argv[2])
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", listen_port))
        server.listen(64)
        def pump(source, sink):
            try:
                while True:
                    data = source.recv(65536)
                    if not data:
                        break
                    sink.sendall(data)
            except OSError:
                pass
            finally:
                for s in (source, sink):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
        print("ready", flush=True)
        while True:
            client, _ = server.accept()
            upstream = socket.create_connection(("127.0.0.1", target_port))
            threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
        """#

    init(port: Int, target: Int, directory: URL) async throws {
        self.port = port
        let script = directory.appendingPathComponent("relay.py")
        try Self.script.write(to: script, atomically: true, encoding: .utf8)
        let output = directory.appendingPathComponent("relay-\(port).log")
        pid = try EtcdServer.spawn(["/usr/bin/python3", script.path, "\(port)", "\(target)"], output: output.path)
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if ((try? String(contentsOf: output, encoding: .utf8)) ?? "").contains("ready") { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw EtcdServer.StartFailure(description: "the relay on \(port) did not start")
    }

    var endpoint: String { "http://127.0.0.1:\(port)" }
    func pause() { kill(pid, SIGSTOP) }
    func resume() { kill(pid, SIGCONT) }

    func stop() async {
        guard pid > 0 else { return }
        kill(pid, SIGCONT)
        kill(pid, SIGKILL)
        var status: Int32 = 0
        let deadline = ContinuousClock.now + .seconds(30)
        while waitpid(pid, &status, WNOHANG) == 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        pid = 0
    }
}

extension EtcdServer {
    /// For a client that checks what etcd answers, not how fast: on a loaded CI machine a delete once waited more
    /// than the default 5 s, and a connect on loopback more than the default 2 s.
    var patientConfiguration: EtcdConfiguration {
        EtcdConfiguration(endpoints: [endpoint], requestTimeout: .seconds(30), connectTimeout: .seconds(30))
    }

    /// Runs `body` with a fresh etcd on `clientPort` and a client of it; both are stopped afterwards, whatever
    /// happens. Under TORPOR_REQUIRE_E2E=1 a missing etcd fails naming it.
    static func with(clientPort: Int, _ body: (EtcdServer, EtcdClient) async throws -> Void) async throws {
        try EtcdPrerequisite.require()
        let server = try EtcdServer(clientPort: clientPort)
        do {
            try await server.start()
            let client = try EtcdClient(server.patientConfiguration, logger: Logger(label: "test"))
            do {
                try await body(server, client)
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }
}
