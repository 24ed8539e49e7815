import Foundation
import Logging
import TestSupport
import Testing
import Transport
import Wire

/// End to end with the real torpor-manager, torpor and agentctl: lists past the 1 MiB frame limit. 15,000 hosts
/// are read page by page by `agentctl manager`, `torpor hosts` and `torpor energy` (before: one reply over the
/// limit, refused), and `torpor vc add --count 1000` of a 4 KB template goes in several requests (before: one
/// request over the limit, refused with a bare protocol error).
@Suite(.serialized, .timeLimit(.minutes(10)))
struct LargeListsEndToEndTests {
    /// A manager on a free port with `settings` in its configuration file; killed by the caller.
    static func startManager(_ directory: URL, settings: String = "") throws -> (BackgroundProcess, String) {
        let config = directory.appendingPathComponent("manager.yaml")
        try "# torpor-manager end-to-end test\n\(settings)".write(to: config, atomically: true, encoding: .utf8)
        let address = "127.0.0.1:\(try AgentUnderTest.freePort())"
        let manager = try BackgroundProcess(
            [
                try KVMLab.product("torpor-manager"), "--config", config.path, "--listen", address,
                "--heartbeat-interval", "1s", "--heartbeat-timeout", "3s", "--log", "stderr",
                "--database", directory.appendingPathComponent("manager.sqlite").path,
            ],
            stdout: directory.appendingPathComponent("manager.stdout"),
            stderr: directory.appendingPathComponent("manager.stderr")
        )
        return (manager, address)
    }

    static func torpor(_ arguments: [String], manager address: String) async throws -> ProcessOutput {
        try await ProcessRunner.run(
            [try KVMLab.product("torpor")] + arguments + ["--manager", address, "--timeout", "30"],
            timeout: .seconds(180)
        )
    }

    static func json(_ output: ProcessOutput) throws -> [String: Any] {
        try #require(
            try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any],
            "not a JSON object: \(output)"
        )
    }

    /// Polls `body` every 300 ms until it returns true or `timeout` passes.
    static func eventually(timeout: Duration, _ body: () async throws -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        repeat {
            if (try? await body()) == true { return true }
            try? await Task.sleep(for: .milliseconds(300))
        } while ContinuousClock.now < deadline
        return false
    }

    /// Says Hello as agent `id` and hangs up: the manager keeps the host, disconnected.
    static func join(_ id: String, manager address: String, logger: Logger) async throws {
        let description = AgentDescription(
            hostID: id,
            hostname: "\(id).lab",
            capabilities: [.vmLifecycle],
            capacity: HostCapacity(
                cores: 16,
                memoryBytes: 64 << 30,
                nicRxBytesPerSecond: 125_000_000,
                nicTxBytesPerSecond: 125_000_000
            ),
            wake: WakeSettings(),
            listenAddress: "127.0.0.1:9"
        )
        let client = WireClient(
            hello: Hello(role: .agent, softwareVersion: "0.0.0-test", nodeName: id, agent: description),
            connectTimeout: .seconds(30),
            logger: logger
        )
        let host = HostPort(address)!
        let connection = try await client.connect(host: host.host, port: host.port)
        await connection.close()
    }

    @Test func fifteenThousandHostsReachEveryClientPageByPage() async throws {
        // Thousands of connections: their work stays off the cooperative pool the other tests wait on.
        try await withTaskExecutorPreference(DedicatedThreadsExecutor.shared) {
            let directory = try ProcessRunner.scratchDirectory(prefix: "torpor-large-hosts")
            defer { try? FileManager.default.removeItem(at: directory) }
            let (manager, address) = try Self.startManager(directory)
            defer { manager.kill() }
            var logger = Logger(label: "torpor.test")
            logger.logLevel = .critical
            let quiet = logger
            let ids = (0..<15_000).map { String(format: "large-host-%05d-0f2c9e8a7b6d4c3b0f2c9e8a", $0) }
            #expect(
                await Self.eventually(timeout: .seconds(30)) {
                    try await Self.torpor(["hosts"], manager: address).succeeded
                },
                "the manager never answered:\n\(manager.stderr)"
            )
            // 32 at a time: enough to be quick, few enough for a loaded machine.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, id) in ids.enumerated() {
                    if index >= 32 { try await group.next() }
                    group.addTask { try await Self.join(id, manager: address, logger: quiet) }
                }
                try await group.waitForAll()
            }

            // Every host, once every hang-up has reached the manager.
            var seen: [[String: Any]] = []
            var last = ProcessOutput(argv: [], status: -1, stdout: "", stderr: "(not run)")
            let settled = await Self.eventually(timeout: .seconds(120)) {
                last = try await ProcessRunner.run(
                    [try KVMLab.product("agentctl"), "manager", "--manager", address, "--json", "--timeout", "30"],
                    timeout: .seconds(180)
                )
                seen = (try Self.json(last)["hosts"] as? [[String: Any]]) ?? []
                return seen.count == ids.count && seen.allSatisfy { $0["connected"] as? Bool == false }
            }
            try #require(
                settled,
                "agentctl manager: \(last.stderr)\n\(seen.count) hosts\n\(manager.stderr.suffix(2000))"
            )
            #expect(seen.compactMap { $0["hostId"] as? String } == ids)
            // Every one hung up: none shows its numbers as current.
            #expect(seen.allSatisfy { $0["stale"] as? Bool == true && $0["vms"] == nil && $0["lastVms"] as? Int == 0 })

            let hosts = try await Self.torpor(["hosts", "--json"], manager: address)
            try #require(hosts.succeeded, "torpor hosts failed: \(hosts.stderr)")
            let listed = try #require(try Self.json(hosts)["hosts"] as? [[String: Any]])
            #expect(listed.compactMap { $0["hostId"] as? String } == ids)

            let table = try await Self.torpor(["hosts"], manager: address)
            #expect(table.succeeded && table.stdout.split(separator: "\n").count == 15_000 + 2, "\(table.stderr)")

            let energy = try await Self.torpor(["energy", "--json"], manager: address)
            try #require(energy.succeeded, "torpor energy failed: \(energy.stderr)")
            let accounted = try #require(try Self.json(energy)["hosts"] as? [[String: Any]])
            #expect(accounted.compactMap { $0["hostId"] as? String } == ids)

            #expect(await manager.terminate(grace: .seconds(20)) == 0, "\(manager.stderr.suffix(2000))")
        }
    }

    @Test func vcAddOfAThousandVMsGoesInSeveralRequests() async throws {
        let directory = try ProcessRunner.scratchDirectory(prefix: "torpor-large-add")
        defer { try? FileManager.default.removeItem(at: directory) }
        // 1,531 addresses: the first 1,000 VMs fit, a second 1,000 run out part way.
        let (manager, address) = try Self.startManager(
            directory,
            settings: """
                vm_subnets: [10.64.0.0/22, 10.64.4.0/23]
                reserved_addresses: [10.64.0.1]
                check_template_disks: false

                """
        )
        defer { manager.kill() }
        // A 4 KB template: 1,000 of them in one request would be about 4.4 MB.
        let template = directory.appendingPathComponent("large.xml")
        try """
        <domain type='test'>
          <name>tpl</name>
          <description>\(String(repeating: "padding ", count: 500))</description>
          <memory unit='MiB'>64</memory>
          <vcpu>1</vcpu>
          <os><type arch='x86_64'>hvm</type></os>
          <devices><interface type='network'><source network='default'/></interface></devices>
        </domain>
        """.write(to: template, atomically: true, encoding: .utf8)
        #expect(
            await Self.eventually(timeout: .seconds(30)) {
                try await Self.torpor(["vc", "define", "big"], manager: address).succeeded
            },
            "the manager never answered:\n\(manager.stderr)"
        )

        let add = try await Self.torpor(
            ["vc", "add", "big", template.path, "--name", "big", "--count", "1000", "--json"],
            manager: address
        )
        try #require(add.succeeded, "vc add --count 1000 failed:\n\(add)\n--- manager\n\(manager.stderr.suffix(3000))")
        let task = try Self.json(add)
        let outcomes = try #require(task["outcomes"] as? [[String: Any]])
        #expect(outcomes.count == 1000)
        #expect(outcomes.allSatisfy { $0["state"] as? String == "done" })
        #expect((task["message"] as? String)?.hasPrefix("added 1000 VMs to big in ") == true, "\(task)")
        let info = try await Self.torpor(["vc", "info", "big", "--json"], manager: address)
        let vms = try #require(try Self.json(info)["vms"] as? [[String: Any]], "\(info)")
        #expect(Set(vms.compactMap { $0["name"] as? String }) == Set((1...1000).map { "big-\($0)" }))
        #expect(Set(vms.compactMap { $0["ip"] as? String }).count == 1000)

        // Taken names are refused before anything is sent: nothing half-done.
        let again = try await Self.torpor(
            ["vc", "add", "big", template.path, "--name", "big", "--count", "300"],
            manager: address
        )
        #expect(again.status == 1 && again.stderr.contains("a VM named 'big-1' already exists"), "\(again)")

        // The pool runs out in a later request: the earlier ones stay, and the output says which.
        let more = try await Self.torpor(
            ["vc", "add", "big", template.path, "--name", "more", "--count", "1000", "--json"],
            manager: address
        )
        #expect(more.status == 1, "\(more)")
        let partial = try Self.json(more)
        let added = try #require(partial["added"] as? [String], "\(more)")
        let notAdded = try #require(partial["notAdded"] as? [String], "\(more)")
        #expect(added.count + notAdded.count == 1000)
        #expect(!added.isEmpty && added.count <= 531, "\(added.count)")
        #expect(added == (1...added.count).map { "more-\($0)" })
        #expect((partial["error"] as? String)?.contains("not accepted") == true, "\(partial)")
        let after = try await Self.torpor(["vc", "info", "big", "--json"], manager: address)
        let names = Set((try Self.json(after)["vms"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String })
        #expect(names.count == 1000 + added.count)
        #expect(names.isSuperset(of: added) && names.isDisjoint(with: notAdded))

        // One VM too large for any frame is named, and nothing is sent.
        let huge = directory.appendingPathComponent("huge.xml")
        try
            "<domain type='test'><name>huge</name><description>\(String(repeating: "x", count: 1_100_000))</description></domain>"
            .write(to: huge, atomically: true, encoding: .utf8)
        let refused = try await Self.torpor(["vc", "add", "big", huge.path], manager: address)
        #expect(refused.status == 64, "\(refused)")
        #expect(refused.stderr.contains("fit in the 1 MiB frame limit"), "\(refused)")

        #expect(await manager.terminate(grace: .seconds(20)) == 0, "\(manager.stderr.suffix(2000))")
    }
}
