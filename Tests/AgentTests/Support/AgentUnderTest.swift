import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The real torpor-agent binary, started in the background on a free loopback port, and agentctl against it.
final class AgentUnderTest: Sendable {
    let process: BackgroundProcess
    let port: Int
    var address: String { "127.0.0.1:\(port)" }

    /// `agentctl status --json`, the parts the end-to-end tests read.
    struct Status: Decodable, Sendable {
        struct VM: Decodable, Sendable {
            struct Latest: Decodable, Sendable {
                var cpuCores: Double
                var memoryBytes: Double?
                var networkRxBytesPerSecond: Double?
                var networkTxBytesPerSecond: Double?
                var time: String?
            }
            struct NIC: Decodable, Sendable {
                var name: String
                var rxBytes: Int
                var txBytes: Int
                var rxBytesPerSecond: Double?
                var txBytesPerSecond: Double?
            }
            var name: String
            var uuid: String
            var state: String
            var latest: Latest?
            var nics: [NIC]?
        }
        struct Manager: Decodable, Sendable {
            var state: String
            var address: String
        }
        var vms: [VM]
        var manager: Manager?
    }

    /// `agentctl samples VM --json`.
    struct Samples: Decodable, Sendable {
        struct Sample: Decodable, Sendable { var cpuCores: Double }
        var vm: String
        var samples: [Sample]
    }

    /// Starts `torpor-agent` with `arguments` (plus --listen on a free port, --log stderr and an empty
    /// configuration file, so no /etc/torpor/agent.yaml on the machine changes the test), its output in `logDirectory`.
    /// `configuration` is the file's text (flags only by default).
    init(
        arguments: [String],
        logDirectory: URL,
        label: String = "agent",
        configuration: String = "# torpor-agent end-to-end test: flags only\n"
    ) throws {
        let port = try Self.freePort()
        let config = logDirectory.appendingPathComponent("\(label).yaml")
        try configuration.write(to: config, atomically: true, encoding: .utf8)
        // Not socket-activated, and no notification socket, whatever the test process's environment holds.
        var environment = ProcessInfo.processInfo.environment
        for name in ["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET"] { environment[name] = nil }
        process = try BackgroundProcess(
            [
                try KVMLab.product("torpor-agent"), "--config", config.path, "--listen", "127.0.0.1:\(port)",
                "--log", "stderr",
            ] + arguments,
            stdout: logDirectory.appendingPathComponent("\(label).stdout"),
            stderr: logDirectory.appendingPathComponent("\(label).stderr"),
            environment: environment
        )
        self.port = port
    }

    /// agentctl with `arguments` (then `--agent` and `--json`).
    func agentctl(_ arguments: String...) async throws -> ProcessOutput {
        try await ProcessRunner.run(
            [try KVMLab.product("agentctl")] + arguments + ["--agent", address, "--json", "--timeout", "30"],
            timeout: .seconds(20)
        )
    }

    func status() async throws -> (status: Status, json: String) {
        let output = try await agentctl("status")
        guard output.succeeded else { throw ProcessRunnerError(description: output.description) }
        return (try JSONDecoder().decode(Status.self, from: Data(output.stdout.utf8)), output.stdout)
    }

    func samples(_ vm: String) async throws -> (samples: Samples, json: String) {
        let output = try await agentctl("samples", vm)
        guard output.succeeded else { throw ProcessRunnerError(description: output.description) }
        return (try JSONDecoder().decode(Samples.self, from: Data(output.stdout.utf8)), output.stdout)
    }

    /// Polls `status` every 500 ms until `condition` holds (returns that status) or `timeout` passes (returns the
    /// last status seen, or throws the last error). Throws at once if the agent exits.
    func waitForStatus(
        timeout: Duration,
        until condition: (Status) -> Bool
    ) async throws -> (status: Status, json: String)? {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var last: (status: Status, json: String)?
        var lastError: (any Error)?
        repeat {
            guard process.isRunning else {
                throw ProcessRunnerError(
                    description: "torpor-agent exited (status \(process.exitStatus ?? -1)):\n\(process.stderr)"
                )
            }
            do {
                let current = try await status()
                if condition(current.status) { return current }
                last = current
            } catch {
                lastError = error
            }
            try await Task.sleep(for: .milliseconds(500))
        } while clock.now < deadline
        if last == nil, let lastError { throw lastError }
        return last
    }

    /// SIGTERM and wait; the exit status (0 after a clean stop).
    @discardableResult
    func stop() async -> Int32? { await process.terminate(grace: .seconds(10)) }

    /// A TCP port on 127.0.0.1 nobody listens on right now (bind to port 0, read it back, close).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ProcessRunnerError(description: "socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa -> Int32 in
                guard bind(fd, sa, length) == 0 else { return -1 }
                return getsockname(fd, sa, &length)
            }
        }
        guard bound == 0 else { throw ProcessRunnerError(description: "bind: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
