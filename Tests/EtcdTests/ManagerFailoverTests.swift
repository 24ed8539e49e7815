import Etcd
import Foundation
import Logging
import TestSupport
import Testing
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// `torpor-manager` processes with `coordination:` campaigning on a real etcd (ports 12230/12231; managers on
/// 12240–12242): only the elected one runs the group leader, the standbys' listeners say who leads and refuse the
/// rest with `notLeader`; kill -9 it and another leads
/// within 15 s; a SIGTERM resigns and hands over at once. Plus the start-up errors of a bad `coordination:`.
@Suite(
    "managers that fail over through etcd",
    .serialized,
    .enabled(if: EtcdPrerequisite.runs, "SKIPPED end-to-end: needs /usr/bin/etcd (scripts/install-deps: etcd-server)")
)
struct ManagerFailoverTests {
    static let etcdPort = 12230
    static let managerPorts = [12240, 12241, 12242]

    static func product(_ name: String) throws -> String {
        var candidates: [String] = []
        if let directory = ProcessInfo.processInfo.environment["TORPOR_BIN_DIR"] { candidates.append(directory) }
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            var url = URL(fileURLWithPath: executable).deletingLastPathComponent()
            while url.path.contains(".xctest") { url = url.deletingLastPathComponent() }
            candidates.append(url.path)
        }
        for directory in candidates where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
            return "\(directory)/\(name)"
        }
        throw EtcdServer.StartFailure(description: "\(name) not built (looked in \(candidates)): run swift build")
    }

    /// Runs the `torpor` CLI to its end on a thread of its own; its status and what it printed.
    static func torpor(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await ChildProcess.run(try product("torpor"), arguments)
    }

    /// A manager process and its log.
    final class Manager: @unchecked Sendable {
        let name: String
        let port: Int
        let log: URL
        var pid: pid_t

        init(name: String, port: Int, yaml: String, directory: URL, environment: [String: String] = [:]) throws {
            self.name = name
            self.port = port
            let config = directory.appendingPathComponent("\(name).yaml")
            try yaml.write(to: config, atomically: true, encoding: .utf8)
            log = directory.appendingPathComponent("\(name).log")
            pid = try EtcdServer.spawn(
                [try ManagerFailoverTests.product("torpor-manager"), "--config", config.path, "--log", "stderr"],
                output: log.path,
                environment: environment
            )
        }

        /// It answers control requests: it leads (a standby refuses them with `notLeader`).
        var leads: Bool { get async { await ManagerProbe.ask(port: port) == .leads } }
        /// It listens and refuses control requests with `notLeader`: it stands by.
        var standsBy: Bool {
            get async {
                if case .standsBy = await ManagerProbe.ask(port: port) { return true }
                return false
            }
        }
        var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

        /// The exit status once it has exited (polling, up to `timeout`), or nil.
        func exitStatus(within timeout: Duration) async -> Int32? {
            let deadline = ContinuousClock.now + timeout
            var status: Int32 = 0
            while ContinuousClock.now < deadline {
                let result = waitpid(pid, &status, WNOHANG)
                if result == pid {
                    pid = 0
                    return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                }
                try? await Task.sleep(for: .milliseconds(50))
            }
            return nil
        }

        func signal(_ number: Int32) { if pid > 0 { kill(pid, number) } }

        func stop() async {
            guard pid > 0 else { return }
            kill(pid, SIGKILL)
            _ = await exitStatus(within: .seconds(30))
        }
    }

    static func yaml(name: String, port: Int, directory: URL, coordination: String) -> String {
        """
        manager_id: \(name)
        listen: 127.0.0.1:\(port)
        database: \(directory.appendingPathComponent("\(name).sqlite").path)
        coordination:
        \(coordination)
        """
    }

    static func coordination(ttl: Int = 5) -> String {
        "  etcd: { endpoints: [\"http://127.0.0.1:\(etcdPort)\"] }\n  lease_ttl: \(ttl)s"
    }

    @Test func onlyTheElectedManagerServesAndAKilledLeaderIsReplacedWithin15Seconds() async throws {
        try EtcdPrerequisite.require()
        let server = try EtcdServer(clientPort: Self.etcdPort)
        try await server.start()
        let observer = try EtcdClient(
            EtcdConfiguration(endpoints: [server.endpoint]),
            logger: Logger(label: "observer")
        )
        var managers: [Manager] = []
        func leaderName() async -> String? {
            let value = try? await Election.leader(client: observer, prefix: "/torpor/manager-leader")?.string
            return value?.split(separator: " ").last.map(String.init)
        }
        func waitUntil(_ what: String, _ condition: () async -> Bool) async throws {
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline {
                if await condition() { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            for manager in managers { print("\(manager.name) log:\n\(manager.logText.suffix(2000))") }
            Issue.record("timed out waiting until \(what)")
            throw CancellationError()
        }
        do {
            let first = try Manager(
                name: "m1",
                port: Self.managerPorts[0],
                yaml: Self.yaml(
                    name: "m1",
                    port: Self.managerPorts[0],
                    directory: server.directory,
                    coordination: Self.coordination()
                ),
                directory: server.directory
            )
            managers.append(first)
            try await waitUntil("m1 leads and serves") {
                guard await leaderName() == "m1" else { return false }
                return await first.leads
            }
            for (index, name) in ["m2", "m3"].enumerated() {
                managers.append(
                    try Manager(
                        name: name,
                        port: Self.managerPorts[index + 1],
                        yaml: Self.yaml(
                            name: name,
                            port: Self.managerPorts[index + 1],
                            directory: server.directory,
                            coordination: Self.coordination()
                        ),
                        directory: server.directory
                    )
                )
            }
            try await waitUntil("m2 and m3 stand by") {
                managers.dropFirst().allSatisfy { $0.logText.contains("standing by") }
            }
            try await Task.sleep(for: .seconds(2))
            // Standing by: a listener that says who leads and refuses the rest, no group leader.
            #expect(await managers[1].standsBy)
            #expect(await managers[2].standsBy)
            let expectedLeader = LeaderReply.Leader.elected(managerID: "m1", address: "127.0.0.1:\(Self.managerPorts[0])")
            #expect(await ManagerProbe.whoLeads(port: Self.managerPorts[1]) == expectedLeader)
            #expect(await ManagerProbe.whoLeads(port: Self.managerPorts[0]) == expectedLeader)
            #expect(
                await ManagerProbe.ask(port: Self.managerPorts[2])
                    == .standsBy(
                        "not the leader; leader is m1 at 127.0.0.1:\(Self.managerPorts[0]) (ManagerStatusRequest not done here)"
                    )
            )
            #expect(await leaderName() == "m1")
            // State written by m1 (its own database file, as every manager here) is in etcd: the next leaders know it.
            let defined = try await Self.torpor(["vc", "define", "survivor", "--manager", "127.0.0.1:\(Self.managerPorts[0])"])
            #expect(defined.status == 0, "torpor vc define: \(defined.output)")
            let flavor = try await Self.torpor(
                ["flavor", "create", "tiny", "--vcpus", "1", "--memory", "256M", "--disk", "1G", "--manager", "127.0.0.1:\(Self.managerPorts[0])"]
            )
            #expect(flavor.status == 0, "torpor flavor create: \(flavor.output)")
            func knowsTheState(_ port: Int) async throws {
                let clusters = try await Self.torpor(["vc", "list", "--json", "--manager", "127.0.0.1:\(port)"])
                #expect(clusters.status == 0 && clusters.output.contains("survivor"), "torpor vc list: \(clusters.output)")
                let flavors = try await Self.torpor(["flavor", "list", "--manager", "127.0.0.1:\(port)"])
                #expect(flavors.status == 0 && flavors.output.contains("tiny"), "torpor flavor list: \(flavors.output)")
            }

            // The takeover is timed on a thread of its own (LeaderProbe): this process's pool may be busy.
            let probe = LeaderProbe(ports: Array(Self.managerPorts[1...2]), excluding: "m1")
            probe.start(until: .now + .seconds(60))
            let killedAt = ContinuousClock.now
            first.signal(SIGKILL)
            #expect(await first.exitStatus(within: .seconds(30)) == 128 + SIGKILL)
            try await waitUntil("m2 or m3 leads and serves") {
                guard let name = await leaderName(), name != "m1" else { return false }
                return await managers.first { $0.name == name }?.leads == true
            }
            let served = await probe.waitForLeader(until: .now + .seconds(30))
            probe.stop()
            let takeover = killedAt.duration(to: try #require(served, "no new leader answered the probe").at)
            print("kill -9 of the leading manager: a new leader serving after \(takeover) (lease TTL 5 s)")
            #expect(takeover < .seconds(15))
            let newLeader = await leaderName()
            let second = try #require(managers.first { $0.name == newLeader })
            let third = try #require(managers.first { $0.name != "m1" && $0 !== second })
            #expect(await third.standsBy)
            try await knowsTheState(second.port)
            #expect(second.logText.contains("state restored from etcd"))

            // SIGTERM: the leader stops gracefully and resigns; the last one leads at once.
            let handoverProbe = LeaderProbe(ports: [third.port], excluding: second.name)
            handoverProbe.start(until: .now + .seconds(60))
            let stoppedAt = ContinuousClock.now
            second.signal(SIGTERM)
            #expect(await second.exitStatus(within: .seconds(60)) == 0)
            try await waitUntil("the third manager leads and serves") {
                guard await leaderName() == third.name else { return false }
                return await third.leads
            }
            let handedOver = await handoverProbe.waitForLeader(until: .now + .seconds(30))
            handoverProbe.stop()
            let handover = stoppedAt.duration(to: try #require(handedOver, "the third manager answered no probe").at)
            print("SIGTERM of the leading manager: the next one serving after \(handover)")
            #expect(handover < .seconds(15))
            try await knowsTheState(third.port)
        } catch {
            for manager in managers { await manager.stop() }
            await observer.shutdown()
            await server.stop()
            throw error
        }
        for manager in managers { await manager.stop() }
        await observer.shutdown()
        await server.stop()
    }

    @Test func aLeaderCutOffFromEtcdExitsBeforeItsLeaseExpires() async throws {
        try EtcdPrerequisite.require()
        let server = try EtcdServer(clientPort: Self.etcdPort)
        try await server.start()
        let manager = try Manager(
            name: "m1",
            port: Self.managerPorts[0],
            yaml: Self.yaml(
                name: "m1",
                port: Self.managerPorts[0],
                directory: server.directory,
                coordination: Self.coordination()
            ),
            directory: server.directory
        )
        defer { Task { await manager.stop() } }
        let deadline = ContinuousClock.now + .seconds(60)
        while !(await manager.leads), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(await manager.leads)
        // Reaped and timed on a thread of its own: this process's pool may be busy with other tests.
        let exitWatch = ProcessExitWatch(pid: manager.pid)
        let pausedAt = ContinuousClock.now
        server.pause()
        let exited = await exitWatch.wait(until: .now + .seconds(60))
        if exited != nil { manager.pid = 0 }
        let status = exited?.status
        let exitedAfter = exited.map { pausedAt.duration(to: $0.at) } ?? .seconds(60)
        server.resume()
        print("leading manager cut off from etcd exited \(status.map(String.init) ?? "never") after \(exitedAfter)")
        #expect(status == 75)
        #expect(exitedAfter < .seconds(5))
        #expect(manager.logText.contains("stopped leading"))
        await server.stop()
    }

    /// Type=notify: a standby says READY=1 (else systemd would kill it after TimeoutStartSec), and STATUS=leading
    /// once elected. The notifications go to a python3 datagram socket as NOTIFY_SOCKET.
    @Test(.enabled(if: EtcdPrerequisite.python, "SKIPPED end-to-end: needs /usr/bin/python3"))
    func aStandbyTellsSystemdItIsReadyAndLaterThatItLeads() async throws {
        try EtcdPrerequisite.require()
        let server = try EtcdServer(clientPort: Self.etcdPort)
        try await server.start()
        let socketPath = server.directory.appendingPathComponent("notify.sock").path
        let received = server.directory.appendingPathComponent("notify.log")
        let script = #"""
            import socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            s.bind(sys.argv[1])
            print("bound", flush=True)
            while True:
                print(s.recv(4096).decode().replace("\n", " | "), flush=True)
            """#
        let scriptFile = server.directory.appendingPathComponent("notify.py")
        try script.write(to: scriptFile, atomically: true, encoding: .utf8)
        let listener = try EtcdServer.spawn(["/usr/bin/python3", scriptFile.path, socketPath], output: received.path)
        let observer = try EtcdClient(
            EtcdConfiguration(endpoints: [server.endpoint]),
            logger: Logger(label: "observer")
        )
        // Someone else leads first, so the manager stands by.
        let holder = Election(
            client: observer,
            prefix: "/torpor/manager-leader",
            value: "127.0.0.1:1 holder",
            settings: ElectionMachine.Settings(ttlSeconds: 5),
            logger: Logger(label: "holder")
        )
        let holding = Task { await holder.run() }
        var manager: Manager?
        func notifications() -> String { (try? String(contentsOf: received, encoding: .utf8)) ?? "" }
        func waitUntil(_ what: String, _ condition: () async -> Bool) async throws {
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline {
                if await condition() { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("timed out waiting until \(what); notifications: \(notifications())")
            throw CancellationError()
        }
        do {
            try await waitUntil("the holder leads") { holder.isLeader }
            try await waitUntil("the notify socket is bound") { notifications().contains("bound") }
            let started = try Manager(
                name: "m1",
                port: Self.managerPorts[0],
                yaml: Self.yaml(
                    name: "m1",
                    port: Self.managerPorts[0],
                    directory: server.directory,
                    coordination: Self.coordination()
                ),
                directory: server.directory,
                environment: ["NOTIFY_SOCKET": socketPath]
            )
            manager = started
            try await waitUntil("the standby says READY=1") {
                notifications().contains("READY=1 | STATUS=standing by")
            }
            #expect(!(await started.leads))
            holding.cancel()
            await holding.value
            try await waitUntil("the manager leads and serves") {
                guard notifications().contains("STATUS=leading") else { return false }
                return await started.leads
            }
        } catch {
            holding.cancel()
            await manager?.stop()
            kill(listener, SIGKILL)
            await observer.shutdown()
            await server.stop()
            throw error
        }
        await manager?.stop()
        kill(listener, SIGKILL)
        var status: Int32 = 0
        let deadline = ContinuousClock.now + .seconds(30)
        while waitpid(listener, &status, WNOHANG) == 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        await observer.shutdown()
        await server.stop()
    }

    @Test(arguments: [
        ("  lease_ttl: 5s", "coordination.etcd: missing"),
        ("  etcd: { endpoints: [] }", "coordination.etcd.endpoints: missing"),
        ("  etcd: { endpoints: [\"127.0.0.1:2379\"] }", "coordination.etcd.endpoints: etcd endpoint '127.0.0.1:2379'"),
        ("  etcd: { endpoints: [\"http://127.0.0.1:2379\"] }\n  lease_ttl: 1s", "coordination.lease_ttl"),
        ("  etcd: { endpoints: [\"http://127.0.0.1:2379\"] }\n  leese_ttl: 5s", "coordination.leese_ttl: unknown key"),
        (
            "  etcd: { endpoints: [\"http://127.0.0.1:2379\"] }\n  state_prefix: /torpor/manager-leader/state",
            "coordination.state_prefix: /torpor/manager-leader/state and prefix /torpor/manager-leader overlap",
        ),
    ])
    func aBadCoordinationSectionExits64NamingTheKey(section: String, expected: String) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("torpor-coord-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let manager = try Manager(
            name: "bad",
            port: Self.managerPorts[2],
            yaml: Self.yaml(name: "bad", port: Self.managerPorts[2], directory: directory, coordination: section),
            directory: directory
        )
        let status = await manager.exitStatus(within: .seconds(60))
        #expect(status == 64, "\(manager.logText)")
        #expect(manager.logText.contains(expected), "\(manager.logText)")
        await manager.stop()
    }

    @Test func anEtcdCredentialsFileOthersMayReadExits64NamingIt() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("torpor-coord-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let credentials = directory.appendingPathComponent("etcd.credentials").path
        try "root:x\n".write(toFile: credentials, atomically: true, encoding: .utf8)
        chmod(credentials, 0o644)
        let section =
            "  etcd: { endpoints: [\"http://127.0.0.1:\(Self.etcdPort)\"], credentials_file: \"\(credentials)\" }"
        let manager = try Manager(
            name: "open",
            port: Self.managerPorts[2],
            yaml: Self.yaml(name: "open", port: Self.managerPorts[2], directory: directory, coordination: section),
            directory: directory
        )
        let status = await manager.exitStatus(within: .seconds(60))
        #expect(status == 64, "\(manager.logText)")
        #expect(manager.logText.contains("coordination.etcd"), "\(manager.logText)")
        #expect(manager.logText.contains(credentials), "\(manager.logText)")
        await manager.stop()
    }
}
