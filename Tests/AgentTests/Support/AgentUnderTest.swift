import Foundation
import Synchronization
import TestSupport

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
        // Until the agent first answers, wait at least 90 s: on 2 loaded cores its start alone took longer than
        // the condition's own timeout.
        let startDeadline = clock.now + max(timeout, .seconds(90))
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
        } while clock.now < (last == nil ? startDeadline : deadline)
        if last == nil, let lastError { throw lastError }
        return last
    }

    /// SIGTERM and wait; the exit status (0 after a clean stop).
    @discardableResult
    func stop() async -> Int32? { await process.terminate(grace: .seconds(10)) }

    /// A TCP port on 127.0.0.1 nobody listens on right now, for a daemon under test to bind a moment later: from
    /// 18000-20000, below the kernel's ephemeral range (32768 and up), where an outgoing connection could take it
    /// between this check and the daemon's bind (port 0 handed out such ports), and apart from the labs' ports
    /// (20000-32000). Never handed out twice in one test process.
    static func freePort() throws -> Int {
        try nextFreePort.withLock { next in
            let range = 18000..<20000
            var port = next ?? range.lowerBound + Int(getpid() % 1000)
            for _ in range {
                if port >= range.upperBound { port = range.lowerBound }
                if TorporLabTests.isFree(port) {
                    next = port + 1
                    return port
                }
                port += 1
            }
            throw ProcessRunnerError(description: "no free loopback port left in 18000-20000")
        }
    }

    private static let nextFreePort = Mutex<Int?>(nil)
}
