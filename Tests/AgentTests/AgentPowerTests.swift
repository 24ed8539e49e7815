import Foundation
import Logging
import Synchronization
import Testing
import Transport
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// Power actions end to end: the real agent tells a stand-in manager before it runs its power command, refuses to go
/// down under running VMs unless forced, follows the sleep hook's signals, and the hook itself sends them.
@Suite("agent power actions and notices")
struct AgentPowerTests {
    /// A directory for the agent's logs and the recording power script's `runs` file.
    struct Scratch {
        let directory: URL
        var runs: URL { directory.appendingPathComponent("runs") }
        /// The agent's log (AgentUnderTest's default label).
        var agentLog: URL { directory.appendingPathComponent("agent.stderr") }

        init() throws {
            directory = try ProcessRunner.scratchDirectory(prefix: "torpor-agent-power")
            _ = FileManager.default.createFile(atPath: runs.path, contents: nil)
        }

        func remove() { try? FileManager.default.removeItem(at: directory) }

        var runLines: [String] {
            ((try? String(contentsOf: runs, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

        /// A script that appends "script ARGS (notices sent before: N)" to `runs`, and an agent configuration running
        /// it for every action. N counts the agent's log lines saying a notice left for the manager: the agent
        /// writes that line once the send has completed and before it starts the command, so N proves the order
        /// without racing the stand-in manager's reading of its socket.
        func powerConfiguration() throws -> URL {
            let script = directory.appendingPathComponent("record-power")
            // `fail` as the first argument: exit 3 after recording, like a suspend the system refused.
            try """
            #!/bin/sh
            sent=$(grep -c 'power notice sent to the manager' '\(agentLog.path)')
            printf 'script %s (notices sent before: %s)\\n' "$*" "${sent:-0}" >>'\(runs.path)'
            [ "$1" = fail ] && { echo "no sleep for you" >&2; exit 3; }
            exit 0

            """.writeExecutable(to: script.path)
            let config = directory.appendingPathComponent("power.yaml")
            try """
            power:
              suspend_to_ram: [\(script.path), ram, --now]
              suspend_to_disk: [\(script.path), fail, disk]
              suspend_to_both: [\(script.path), both]
              shutdown: [\(script.path), off]

            """.write(to: config, atomically: true, encoding: .utf8)
            return config
        }

        /// A libvirt test-driver URI for a host with no VM at all.
        func emptyNodeURI() throws -> String {
            let node = directory.appendingPathComponent("empty-node.xml")
            try """
            <node>
              <cpu><mhz>2400</mhz><model>x86_64</model><nodes>1</nodes><sockets>1</sockets><cores>4</cores>
                <threads>1</threads><active>4</active></cpu>
              <memory>8388608</memory>
            </node>

            """.write(to: node, atomically: true, encoding: .utf8)
            return "test://\(node.path)"
        }
    }

    // MARK: (a) and (b): agentctl power

    @Test("agentctl power suspend: PowerNotice(goingDown) has left for the manager before the power command runs")
    func suspendNotifiesTheManagerFirst() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try await FakeManager.run { manager in
            let agent = try AgentUnderTest(
                arguments: [
                    "--libvirt-uri", try scratch.emptyNodeURI(), "--manager", "127.0.0.1:\(manager.port)",
                    "--config", try scratch.powerConfiguration().path,
                ],
                logDirectory: scratch.directory
            )
            defer { Task { await agent.stop() } }
            #expect(await manager.waitFor(timeout: .seconds(90)) { $0.hellos >= 1 }, "\(agent.process.stderr)")

            let suspend = try await agent.agentctl("power", "suspend")
            #expect(suspend.succeeded, "\(suspend)")
            let result = try JSONSerialization.jsonObject(with: Data(suspend.stdout.utf8)) as? [String: Any]
            #expect(result?["ok"] as? Bool == true)
            #expect(result?["code"] as? String == "ok")
            #expect((result?["message"] as? String)?.contains("ram --now exited 0") == true, "\(suspend)")

            #expect(scratch.runLines == ["script ram --now (notices sent before: 1)"])
            #expect(await manager.waitFor(timeout: .seconds(60)) { !$0.notices.isEmpty })
            #expect(manager.notices == [.goingDown(.suspendToRam, reason: "agentctl")])
            #expect(await manager.waitFor(timeout: .zero) { $0.unflaggedNotices == 0 })
            #expect(agent.process.stderr.contains("torpor.action=suspendToRam"), "the agent did not log the action")
            #expect(await agent.stop() == 0)
        }
    }

    @Test("a running VM blocks a power action (conflict naming it, no command, no notice) until --force")
    func runningVMsNeedForce() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try await FakeManager.run { manager in
            // test:///default always runs the domain `test`.
            let agent = try AgentUnderTest(
                arguments: [
                    "--libvirt-uri", "test:///default", "--manager", "127.0.0.1:\(manager.port)",
                    "--config", try scratch.powerConfiguration().path,
                ],
                logDirectory: scratch.directory
            )
            defer { Task { await agent.stop() } }
            #expect(await manager.waitFor(timeout: .seconds(90)) { $0.hellos >= 1 }, "\(agent.process.stderr)")

            // The form in the help: global options before the noun.
            let status = try await ProcessRunner.run(
                [try KVMLab.product("agentctl"), "--agent", agent.address, "--json", "power", "status"],
                timeout: .seconds(60)
            )
            #expect(status.succeeded, "\(status)")
            let statusJSON = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
            #expect(statusJSON?["activeVMs"] as? [String] == ["test"], "\(status)")
            #expect(statusJSON?["forceNeeded"] as? Bool == true)
            #expect((statusJSON?["manager"] as? [String: Any])?["state"] as? String == "connected", "\(status)")

            let refused = try await agent.agentctl("power", "suspend")
            #expect(refused.status == 1, "\(refused)")
            let refusal = try JSONSerialization.jsonObject(with: Data(refused.stdout.utf8)) as? [String: Any]
            #expect(refusal?["code"] as? String == "conflict", "\(refused)")
            #expect(refusal?["exitCode"] as? Int == 1)
            #expect((refusal?["message"] as? String)?.contains("test") == true, "\(refused)")
            #expect(scratch.runLines.isEmpty, "the power command ran: \(scratch.runLines)")
            #expect(manager.notices.isEmpty, "a refused action was announced: \(manager.notices)")

            let text = try await ProcessRunner.run(
                [try KVMLab.product("agentctl"), "--agent", agent.address, "power", "shutdown"],
                timeout: .seconds(60)
            )
            #expect(text.status == 1 && text.stderr.contains("conflict") && text.stderr.contains("test"), "\(text)")
            #expect(scratch.runLines.isEmpty)

            let forced = try await agent.agentctl("power", "suspend", "--force")
            #expect(forced.succeeded, "\(forced)")
            #expect(scratch.runLines == ["script ram --now (notices sent before: 1)"])
            #expect(await manager.waitFor(timeout: .seconds(60)) { $0.notices.count == 1 })
            #expect(manager.notices == [.goingDown(.suspendToRam, reason: "agentctl")])
            #expect(await agent.stop() == 0)
        }
    }

    @Test("a power command that fails: the manager hears goingDown, then resumed; agentctl exits 1 with the output")
    func aFailedPowerCommandSaysResumed() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try await FakeManager.run { manager in
            let agent = try AgentUnderTest(
                arguments: [
                    "--libvirt-uri", try scratch.emptyNodeURI(), "--manager", "127.0.0.1:\(manager.port)",
                    "--config", try scratch.powerConfiguration().path,
                ],
                logDirectory: scratch.directory
            )
            defer { Task { await agent.stop() } }
            #expect(await manager.waitFor(timeout: .seconds(90)) { $0.hellos >= 1 }, "\(agent.process.stderr)")

            let hibernate = try await agent.agentctl("power", "hibernate")
            #expect(hibernate.status == 1, "\(hibernate)")
            let result = try JSONSerialization.jsonObject(with: Data(hibernate.stdout.utf8)) as? [String: Any]
            #expect(result?["code"] as? String == "commandFailed", "\(hibernate)")
            #expect(result?["detail"] as? String == "no sleep for you\n")
            #expect(await manager.waitFor(timeout: .seconds(60)) { $0.notices.count == 2 })
            let notices = manager.notices
            #expect(notices.first == .goingDown(.suspendToDisk, reason: "agentctl"))
            #expect(notices.last?.phase == .resumed)
            #expect(notices.last?.reason.hasPrefix("power action failed: suspendToDisk") == true, "\(notices)")
            #expect(scratch.runLines == ["script fail disk (notices sent before: 1)"])
            #expect(await agent.stop() == 0)
        }
    }

    // MARK: (c): signals

    @Test("SIGUSR1 reconnects at once despite a long backoff, then says resumed; SIGUSR2 announces a system sleep")
    func signalsFromTheSleepHook() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let port = try AgentUnderTest.freePort()
        let agent = try AgentUnderTest(
            arguments: ["--libvirt-uri", try scratch.emptyNodeURI(), "--manager", "127.0.0.1:\(port)"],
            logDirectory: scratch.directory
        )
        defer { Task { await agent.stop() } }

        // Nobody listens yet: wait until the agent's backoff has grown to a wait of at least 12 s, so a hello well
        // within it can only come from the signal (a CI run loaded by builds missed a 6 s one).
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(240)
        var longWait: Double?
        while longWait == nil, clock.now < deadline, agent.process.isRunning {
            longWait = Self.retryDelays(in: agent.process.stderr).last.flatMap { $0 >= 12 ? $0 : nil }
            if longWait == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        let wait = try #require(longWait, "the backoff never reached 12 s:\n\(agent.process.stderr)")
        let withinBackoff = Duration.milliseconds(Int64((wait - 0.5) * 1000))

        try await FakeManager.run(port: port) { manager in
            agent.process.signal(SIGUSR1)
            #expect(
                await manager.waitFor(timeout: withinBackoff) { $0.hellos == 1 },
                "no hello within \(withinBackoff) of SIGUSR1 (the agent meant to wait \(wait) s):\n\(agent.process.stderr)"
            )
            #expect(await manager.waitFor(timeout: .seconds(60)) { $0.notices.count == 1 })
            #expect(manager.notices == [.resumed(reason: "system resume")])

            // Connected: SIGUSR1 drops this connection and says hello again on a new one.
            agent.process.signal(SIGUSR1)
            #expect(
                await manager.waitFor(timeout: .seconds(60)) { $0.hellos == 2 && $0.closed == 1 },
                "no second hello within 60 s of SIGUSR1:\n\(agent.process.stderr)"
            )
            #expect(await manager.waitFor(timeout: .seconds(60)) { $0.notices.count == 2 })
            #expect(manager.notices.last == .resumed(reason: "system resume"))

            agent.process.signal(SIGUSR2)
            #expect(await manager.waitFor(timeout: .seconds(60)) { $0.notices.count == 3 })
            #expect(manager.notices.last == .goingDown(.suspendToRam, reason: "system sleep"))
            #expect(agent.process.isRunning, "a signal killed the agent")
            #expect(await agent.stop() == 0)
        }
    }

    /// Every `torpor.retry_in` the agent logged with "link down", in seconds.
    static func retryDelays(in log: String) -> [Double] {
        log.split(separator: "\n").filter { $0.contains("link down") }.compactMap { line in
            guard let range = line.range(of: "torpor.retry_in=") else { return nil }
            // The whole number: Duration may print "3.5e-05 seconds".
            return Double(line[range.upperBound...].prefix { $0 != " " })
        }
    }

    // MARK: (d): the systemd sleep hook

    static var sleepHook: String {
        KVMLab.packageRoot.appendingPathComponent("packaging/debian/torpor-agent.sleep").path
    }

    /// Runs the hook with a `systemctl` stand-in first on PATH (systemd is not PID 1 here) that records its
    /// arguments and exits with `systemctlStatus`.
    static func runSleepHook(_ arguments: [String], systemctlStatus: Int = 0) async throws -> (ProcessOutput, [String])
    {
        let directory = try ProcessRunner.scratchDirectory(prefix: "torpor-sleep-hook")
        defer { try? FileManager.default.removeItem(at: directory) }
        let record = directory.appendingPathComponent("systemctl.args")
        let fake = directory.appendingPathComponent("systemctl")
        try """
        #!/bin/sh
        printf '%s\\n' "$*" >>'\(record.path)'
        echo "Failed to kill unit torpor-agent.service: Unit torpor-agent.service not loaded." >&2
        exit \(systemctlStatus)

        """.writeExecutable(to: fake.path)
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = "\(directory.path):\(environment["PATH"] ?? "/usr/bin:/bin")"
        let output = try await ProcessRunner.run(
            [sleepHook] + arguments,
            environment: environment,
            timeout: .seconds(60)
        )
        let calls = ((try? String(contentsOf: record, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        return (output, calls)
    }

    @Test(
        "the sleep hook sends SIGUSR2 before and SIGUSR1 after every kind of sleep, to the agent's main process",
        arguments: ["suspend", "hibernate", "hybrid-sleep", "suspend-then-hibernate"]
    )
    func sleepHookSignalsTheAgent(kind: String) async throws {
        let (pre, preCalls) = try await Self.runSleepHook(["pre", kind])
        #expect(pre.status == 0 && pre.stdout.isEmpty && pre.stderr.isEmpty, "\(pre)")
        #expect(preCalls == ["kill --kill-whom=main --signal=SIGUSR2 torpor-agent.service"])
        let (post, postCalls) = try await Self.runSleepHook(["post", kind])
        #expect(post.status == 0 && post.stdout.isEmpty && post.stderr.isEmpty, "\(post)")
        #expect(postCalls == ["kill --kill-whom=main --signal=SIGUSR1 torpor-agent.service"])
    }

    @Test("the sleep hook never fails the sleep: exit 0 and silent when systemctl fails or the call is unknown")
    func sleepHookNeverFails() async throws {
        for phase in ["pre", "post"] {
            let (output, calls) = try await Self.runSleepHook([phase, "suspend"], systemctlStatus: 5)
            #expect(output.status == 0 && output.stdout.isEmpty && output.stderr.isEmpty, "\(output)")
            #expect(calls.count == 1)
        }
        let (unknown, calls) = try await Self.runSleepHook(["later", "suspend"], systemctlStatus: 1)
        #expect(unknown.status == 0 && unknown.stderr.isEmpty, "\(unknown)")
        #expect(calls.isEmpty)
        let (none, noCalls) = try await Self.runSleepHook([], systemctlStatus: 1)
        #expect(none.status == 0 && noCalls.isEmpty, "\(none)")
    }
}

/// A manager-side listener standing in for torpor-manager: welcomes agents as a manager would and records their
/// hellos, PowerNotices and closed connections.
final class FakeManager: Sendable {
    struct Counts: Sendable {
        var hellos = 0
        var closed = 0
        var notices: [PowerNotice] = []
        /// Notices that came without the ignorable flag (an older manager would close the link on them).
        var unflaggedNotices = 0
        /// When each MonitoringReport arrived.
        /// Each report's own timestamp (the agent's wall clock, ms): when it was made, not when this side got to it.
        var reports: [Int64] = []
    }

    let port: Int
    private let state = Mutex(Counts())
    private init(port: Int) {
        self.port = port
    }

    var notices: [PowerNotice] { state.withLock { $0.notices } }
    var reports: [Int64] { state.withLock { $0.reports } }

    /// Listens on 127.0.0.1:`port` (0: any free port) while `body` runs, assigning agents `reportInterval`.
    static func run(
        port: Int = 0,
        reportInterval: Duration = .seconds(1),
        _ body: (FakeManager) async throws -> Void
    ) async throws {
        let logger = Logger(label: "fake-manager", factory: { _ in SwiftLogNoOpLogHandler() })
        let recorder = Recorder()
        let server = try await WireServer.bind(
            host: "127.0.0.1",
            port: port,
            logger: logger,
            welcome: { _, version in
                Welcome(
                    version: version,
                    role: .manager,
                    softwareVersion: "0.0.0-test",
                    nodeName: "fake-manager",
                    assignment: .init(
                        managerID: "fake-manager",
                        heartbeatIntervalMilliseconds: 1000,
                        reportIntervalMilliseconds: UInt32(reportInterval / .milliseconds(1))
                    )
                )
            },
            handler: { connection in try await recorder.manager?.serve(connection) }
        )
        let manager = FakeManager(port: try #require(server.port))
        recorder.manager = manager
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            defer { group.cancelAll() }
            try await body(manager)
        }
    }

    private func serve(_ connection: WireConnection) async throws {
        state.withLock { $0.hellos += 1 }
        defer { state.withLock { $0.closed += 1 } }
        for try await envelope in connection.inbound {
            if case .monitoringReport(let report) = envelope.message {
                state.withLock { $0.reports.append(report.timestampMilliseconds) }
            }
            guard case .powerNotice(let notice) = envelope.message else { continue }
            let ignorable = envelope.flags.contains(.ignorable)
            state.withLock {
                $0.notices.append(notice)
                if !ignorable { $0.unflaggedNotices += 1 }
            }
        }
    }

    /// Polls every 20 ms until `condition` holds; false when `timeout` passed first.
    func waitFor(timeout: Duration, _ condition: (Counts) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition(state.withLock { $0 }) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition(state.withLock { $0 })
    }

    /// The server's handler is made before the manager it calls (which needs the bound port).
    private final class Recorder: Sendable {
        private let current = Mutex<FakeManager?>(nil)
        var manager: FakeManager? {
            get { current.withLock { $0 } }
            set { current.withLock { $0 = newValue } }
        }
    }
}
