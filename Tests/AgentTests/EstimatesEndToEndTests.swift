import Foundation
import TestSupport
import Testing

/// End to end with the real binaries: torpor-manager and a torpor-agent on libvirt's test driver, whose reports fill
/// the manager's rings; `torpor hosts` and `torpor vm info` then show the estimates made from them.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct EstimatesEndToEndTests {
    static func torpor(_ arguments: [String], manager address: String) async throws -> ProcessOutput {
        try await ProcessRunner.run(
            [try KVMLab.product("torpor")] + arguments + ["--manager", address, "--timeout", "30"],
            timeout: .seconds(60)
        )
    }

    static func json(_ output: ProcessOutput) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
    }

    @Test func hostsAndVMInfoShowEstimatesFromTheAgentsReports() async throws {
        let directory = try ProcessRunner.scratchDirectory(prefix: "torpor-estimates-e2e")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("manager.yaml")
        // Three samples averaged; no relocation (one host), no schedule.
        try "estimator:\n  window: 3\n  refresh_interval: 1s\n".write(to: config, atomically: true, encoding: .utf8)
        let port = try AgentUnderTest.freePort()
        let address = "127.0.0.1:\(port)"
        let manager = try BackgroundProcess(
            [
                try KVMLab.product("torpor-manager"), "--config", config.path, "--listen", address,
                "--heartbeat-interval", "1s", "--heartbeat-timeout", "5s", "--log", "stderr",
                "--database", directory.appendingPathComponent("manager.sqlite").path,
            ],
            stdout: directory.appendingPathComponent("manager.stdout"),
            stderr: directory.appendingPathComponent("manager.stderr")
        )
        defer { manager.kill() }
        let agent = try AgentUnderTest(
            arguments: [
                "--libvirt-uri", "test:///default", "--manager", address, "--sample-interval", "1s",
                "--host-id", "estimates-e2e",
            ],
            logDirectory: directory
        )
        defer { agent.process.kill() }

        // test:///default runs one domain, "test": once three reports are in, its estimate is their mean.
        var host: [String: Any]?
        var last = ""
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline, manager.isRunning {
            let output = try await Self.torpor(["hosts", "--json"], manager: address)
            last = output.stdout + output.stderr
            let hosts = (Self.json(output)?["hosts"] as? [[String: Any]]) ?? []
            if let found = hosts.first(where: { $0["hostId"] as? String == "estimates-e2e" }),
                let estimate = found["estimate"] as? [String: Any], (estimate["measuredVms"] as? Int ?? 0) >= 1
            {
                host = found
                break
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        let found = try #require(host, "no estimate:\n\(last)\n--- manager\n\(manager.stderr)")
        let estimate = try #require(found["estimate"] as? [String: Any])
        let requested = try #require(estimate["requested"] as? [String: Any])
        let used = try #require(estimate["estimatedUse"] as? [String: Any])
        // The test driver's domain has vCPUs and memory; what it uses is measured, at most what it was given.
        #expect((requested["cpuCores"] as? Double ?? 0) >= 1, "\(found)")
        #expect((requested["memoryBytes"] as? Double ?? 0) > 0, "\(found)")
        #expect((used["cpuCores"] as? Double ?? -1) >= 0, "\(found)")
        #expect((used["memoryBytes"] as? Double ?? -1) >= 0, "\(found)")

        let text = try await Self.torpor(["hosts"], manager: address)
        #expect(text.stdout.contains("CPU EST/REQ"), "\(text)")

        // The domain was adopted into the manager's records; its info shows its estimate beside its request.
        var info: ProcessOutput?
        let infoDeadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < infoDeadline {
            let output = try await Self.torpor(["vm", "info", "test", "--json"], manager: address)
            if output.succeeded, (Self.json(output)?["estimate"] as? [String: Any]) != nil {
                info = output
                break
            }
            info = output
            try await Task.sleep(for: .milliseconds(500))
        }
        let vm = try #require(info.flatMap(Self.json), "\(String(describing: info))")
        let vmEstimate = try #require(vm["estimate"] as? [String: Any], "\(vm)")
        #expect((vmEstimate["samples"] as? Int ?? 0) >= 1, "\(vm)")
        #expect((vmEstimate["samples"] as? Int ?? 0) <= 3, "\(vm)")
        let plain = try await Self.torpor(["vm", "info", "test"], manager: address)
        #expect(plain.stdout.contains("estimate (mean of the newest"), "\(plain)")
        #expect(plain.stdout.contains("requested"), "\(plain)")

        // One host: nothing to consolidate. A dry run says so and succeeds; a run that starts nothing exits 1.
        let dry = try await Self.torpor(["cluster", "consolidate", "--dry-run", "--json"], manager: address)
        #expect(dry.succeeded, "\(dry)")
        let plan = try #require(Self.json(dry), "\(dry)")
        #expect(plan["policy"] as? String == "cost-aware", "\(plan)")
        #expect(plan["started"] as? Bool == false && (plan["moves"] as? [Any])?.isEmpty == true, "\(plan)")
        #expect((plan["reason"] as? String)?.isEmpty == false, "\(plan)")
        let run = try await Self.torpor(["cluster", "consolidate"], manager: address)
        #expect(run.status == 1, "\(run)")
        #expect(run.stdout.contains("not started: "), "\(run)")

        #expect(await manager.terminate(grace: .seconds(10)) == 0, "\(manager.stderr)")
    }
}
