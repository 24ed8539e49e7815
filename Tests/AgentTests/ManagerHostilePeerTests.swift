import Foundation
import Logging
import TestSupport
import Testing
import Transport
import Wire

/// The real torpor-manager against peers that speak valid Wire but lie: an agent claiming absurd values, and a
/// second peer claiming a connected host's identity (issues 10.1 and 11.3).
@Suite(.serialized, .timeLimit(.minutes(2)))
struct ManagerHostilePeerTests {
    /// A torpor-manager on a free loopback port, its logs and database in a scratch directory.
    final class Manager: Sendable {
        let process: BackgroundProcess
        let port: Int
        let directory: URL

        init(heartbeatInterval: String = "1s", heartbeatTimeout: String = "10s") throws {
            directory = try ProcessRunner.scratchDirectory(prefix: "torpor-manager-hostile")
            let config = directory.appendingPathComponent("manager.yaml")
            try "# torpor-manager end-to-end test: flags only\n".write(to: config, atomically: true, encoding: .utf8)
            port = try AgentUnderTest.freePort()
            process = try BackgroundProcess(
                [
                    try KVMLab.product("torpor-manager"), "--config", config.path, "--listen", "127.0.0.1:\(port)",
                    "--heartbeat-interval", heartbeatInterval, "--heartbeat-timeout", heartbeatTimeout,
                    "--log", "stderr", "--database", directory.appendingPathComponent("manager.sqlite").path,
                ],
                stdout: directory.appendingPathComponent("manager.stdout"),
                stderr: directory.appendingPathComponent("manager.stderr")
            )
        }

        deinit {
            process.kill()
            try? FileManager.default.removeItem(at: directory)
        }

        /// Connects as an agent for `hostID`, retrying while the manager starts.
        func connect(as hostID: String, hostname: String) async throws -> WireConnection {
            let deadline = ContinuousClock.now + .seconds(20)
            while true {
                do {
                    return try await ManagerHostilePeerTests.client(hostID, hostname).connect(
                        host: "127.0.0.1",
                        port: port
                    )
                } catch {
                    guard case .connectFailed = error, ContinuousClock.now < deadline, process.isRunning else {
                        throw error
                    }
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
        }

        /// Polls the manager's log until it contains `text`, or `timeout` passes.
        func waitForLog(_ text: String, timeout: Duration = .seconds(20)) async throws -> Bool {
            let deadline = ContinuousClock.now + timeout
            repeat {
                if process.stderr.contains(text) { return true }
                try await Task.sleep(for: .milliseconds(200))
            } while ContinuousClock.now < deadline
            return false
        }
    }

    static func client(_ hostID: String, _ hostname: String) -> WireClient {
        WireClient(
            hello: Hello(
                role: .agent,
                softwareVersion: "test",
                nodeName: hostname,
                agent: AgentDescription(
                    hostID: hostID,
                    hostname: hostname,
                    capabilities: [.vmLifecycle],
                    capacity: HostCapacity(
                        cores: 4,
                        memoryBytes: 8 << 30,
                        nicRxBytesPerSecond: 125_000_000,
                        nicTxBytesPerSecond: 125_000_000
                    ),
                    wake: WakeSettings(),
                    listenAddress: "127.0.0.1:1"
                )
            ),
            // A manager starting beside the whole suite on a loaded machine took over 5 s to accept.
            connectTimeout: .seconds(30),
            logger: Logger(label: "test")
        )
    }

    /// Before the fix the manager trapped (SIGILL) on `memoryKiB * 1024` while adopting the VM.
    @Test func anInventoryWithAbsurdMemoryIsDroppedAndTheManagerLives() async throws {
        let manager = try Manager()
        let connection = try await manager.connect(as: "hostile-memory", hostname: "hostile")
        let vm = Inventory.Entry(
            slot: 0,
            uuid: WireUUID(high: 0x1234, low: 0x5678),
            name: "huge",
            state: .running,
            virtualCPUs: 1,
            memoryKiB: 1 << 60
        )
        try await connection.send(.inventory(Inventory(hostID: "hostile-memory", vms: [vm])))
        let dropped = try await manager.waitForLog("inventory dropped")
        #expect(dropped, "\(manager.process.stderr)")
        #expect(manager.process.stderr.contains("1152921504606846976"), "the log names the value")
        // Still serving: a heartbeat request is answered on the same connection.
        _ = try await connection.ping(timeout: .seconds(10))
        #expect(manager.process.isRunning)
        await connection.close()
    }

    @Test func aHelloWithAnEmptyHostIDIsRefusedNamingTheField() async throws {
        let manager = try Manager()
        _ = try await manager.connect(as: "warm-up", hostname: "warm-up")
        do {
            _ = try await Self.client("", "nameless").connect(host: "127.0.0.1", port: manager.port)
            Issue.record("an empty host id was welcomed")
        } catch {
            guard case .peerError(let code, let message) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(code == .invalidValue)
            #expect(message.contains("agent.hostID"), "\(message)")
        }
    }

    /// Before the fix the second Hello took the host's place (hostname, capacity, commands).
    @Test func aSecondHelloForALiveHostIsRefusedNamingTheIDAndTheHolder() async throws {
        let manager = try Manager()
        let genuine = try await manager.connect(as: "twin", hostname: "genuine")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await genuine.sendHeartbeats(every: .milliseconds(300)) }
            try await Task.sleep(for: .milliseconds(500))
            do {
                _ = try await Self.client("twin", "impostor").connect(host: "127.0.0.1", port: manager.port)
                Issue.record("the impostor was welcomed")
            } catch {
                guard case .peerError(let code, let message)? = error as? TransportError else {
                    Issue.record("unexpected error \(error)")
                    throw error
                }
                #expect(code == .conflict)
                #expect(message.contains("'twin'"), "\(message)")
                #expect(message.contains("127.0.0.1"), "names the holder's address: \(message)")
            }
            // The genuine host keeps its place and its connection.
            #expect(genuine.isOpen)
            _ = try await genuine.ping(timeout: .seconds(10))
            #expect(!manager.process.stderr.contains("host rejoined"), "\(manager.process.stderr)")
            group.cancelAll()
        }
        await genuine.close()
    }

    /// An agent whose old connection went silent (a network blip left it half-open) gets back in once that
    /// connection has been quiet for two heartbeat intervals; the manager closes the old one and says so.
    @Test func aSilentHolderIsClosedForTheReconnectingAgent() async throws {
        let manager = try Manager(heartbeatInterval: "1s", heartbeatTimeout: "30s")
        let stale = try await manager.connect(as: "blip", hostname: "blip")
        // Held once the manager has recorded the join (its session runs after the Welcome).
        #expect(try await manager.waitForLog("host joined", timeout: .seconds(60)))
        // No heartbeat from `stale`: after 2 s of silence its id is free for the agent's new connection.
        let deadline = ContinuousClock.now + .seconds(60)
        var fresh: WireConnection?
        while fresh == nil, ContinuousClock.now < deadline {
            do {
                fresh = try await Self.client("blip", "blip").connect(host: "127.0.0.1", port: manager.port)
            } catch {
                guard case .peerError(let code, _) = error, code == .conflict else { throw error }
                try await Task.sleep(for: .milliseconds(300))
            }
        }
        let connection = try #require(fresh, "the reconnecting agent was locked out")
        let closedBy = ContinuousClock.now + .seconds(10)
        while stale.isOpen, ContinuousClock.now < closedBy { try await Task.sleep(for: .milliseconds(100)) }
        let closed = !stale.isOpen
        #expect(closed, "the silent connection was not closed")
        #expect(try await manager.waitForLog("closing a silent connection"))
        _ = try await connection.ping(timeout: .seconds(10))
        await connection.close()
    }

    /// A host that announced going down comes back on a new connection at once, even if the old one looks alive.
    @Test func aHostThatWentDownRejoinsAtOnce() async throws {
        let manager = try Manager(heartbeatInterval: "1s", heartbeatTimeout: "30s")
        let before = try await manager.connect(as: "sleeper", hostname: "sleeper")
        try await before.send(.heartbeat(Heartbeat(sequence: 1, timestampMilliseconds: 1)))
        try await before.send(.powerNotice(.goingDown(.suspendToRam, reason: "test")))
        #expect(try await manager.waitForLog("host going down"))
        let after = try await Self.client("sleeper", "sleeper").connect(host: "127.0.0.1", port: manager.port)
        let closedBy = ContinuousClock.now + .seconds(10)
        while before.isOpen, ContinuousClock.now < closedBy { try await Task.sleep(for: .milliseconds(100)) }
        #expect(!before.isOpen, "the departing connection was not closed")
        _ = try await after.ping(timeout: .seconds(10))
        await after.close()
    }
}
