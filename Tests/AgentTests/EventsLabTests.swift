import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Snooze's notifications from a lab: the real manager and agents, `GET /events` read by `curl -N`.
@Suite(
    "Snooze's events in a lab",
    .serialized,
    .enabled(
        if: FileManager.default.isExecutableFile(atPath: "/usr/bin/curl")
            || ProcessInfo.processInfo.environment["TORPOR_REQUIRE_E2E"] == "1",
        "needs curl (scripts/install-deps)"
    )
)
struct EventsLabTests {
    /// The `data:` JSON of every `event: NAME` frame in a server-sent event stream.
    static func frames(_ text: String, _ name: String) -> [[String: Any]] {
        text.components(separatedBy: "\n\n").compactMap { frame in
            let lines = frame.split(separator: "\n")
            guard lines.contains("event: \(name)"),
                let data = lines.first(where: { $0.hasPrefix("data: ") })?.dropFirst(6)
            else { return nil }
            return try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any]
        }
    }

    @Test("curl -N /events sees LC_FAILED and LC_JOIN as an agent leaves and rejoins, and START PENDING then PROCESSED")
    func sseFromALab() async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"),
            "TORPOR_REQUIRE_E2E=1 but curl is missing"
        )
        let lab = try await LabUnderTest.up(hosts: 2, httpFront: true)
        defer { lab.tearDown() }
        let port = try #require(lab.httpPort)
        let output = lab.directory.appendingPathComponent("events.sse")
        let follower = try BackgroundProcess(
            ["/usr/bin/curl", "-N", "-sS", "--max-time", "300", "http://127.0.0.1:\(port)/events"],
            stdout: output,
            stderr: lab.directory.appendingPathComponent("events.stderr")
        )
        defer { follower.kill() }
        func text() -> String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }
        #expect(await lab.eventually(timeout: .seconds(60)) { text().hasPrefix(": torpor events") }, "\(text())")
        // The same events over Wire: torpor events --follow --json, one JSON object per line.
        let wireOutput = lab.directory.appendingPathComponent("events.jsonl")
        let wireFollower = try BackgroundProcess(
            [lab.torpor, "events", "--follow", "--json", "--manager", lab.manager],
            stdout: wireOutput,
            stderr: lab.directory.appendingPathComponent("events-cli.stderr"),
            environment: lab.cliEnvironment
        )
        defer { wireFollower.kill() }
        func wireEvents() -> [[String: Any]] {
            ((try? String(contentsOf: wireOutput, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
        // Subscribed once the manager's pushes can reach it: give the CLI a moment to connect, checked by its
        // still running (a refused subscription exits at once).
        try await Task.sleep(for: .seconds(2))
        #expect(
            wireFollower.isRunning,
            "torpor events exited: \(lab.directory.appendingPathComponent("events-cli.stderr"))"
        )

        // host-2's agent killed, then started again: LC_FAILED once the heartbeat timeout passes, then LC_JOIN.
        kill(pid_t(try lab.process("agent-2").pid), SIGKILL)
        let failed = await lab.eventually(timeout: .seconds(90)) {
            Self.frames(text(), "system").contains { $0["eventType"] as? String == "LC_FAILED" }
        }
        #expect(failed, "\(text())")
        let restarted = try lab.restart("agent-2")
        defer { restarted.kill() }
        let joined = await lab.eventually(timeout: .seconds(90)) {
            Self.frames(text(), "system").contains { $0["eventType"] as? String == "LC_JOIN" }
        }
        #expect(joined, "\(text())")
        let system = Self.frames(text(), "system")
        let failure = try #require(system.first { $0["eventType"] as? String == "LC_FAILED" })
        #expect(
            failure["message"] as? String == "host-2" && failure["routingKey"] as? String == "groupmanager.lab-manager"
        )
        let join = try #require(system.first { $0["eventType"] as? String == "LC_JOIN" })
        #expect(join["routingKey"] as? String == "groupmanager.lab-manager", "\(join)")
        #expect((join["message"] as? [String: Any])?["id"] as? String == "host-2", "\(join)")

        // A VM started with the CLI: START PENDING, then PROCESSED with Snooze's routing key.
        #expect(try await lab.torpor(["vc", "define", "web"]).status == 0)
        let added = try await lab.torpor(["vc", "add", "web", try lab.template(cores: 1), "--name", "web-1"])
        try #require(added.status == 0, "\(added)")
        let start = try await lab.torpor(["vc", "start", "web"])
        #expect(start.status == 0, "\(start)")
        func starts() -> [[String: Any]] {
            Self.frames(text(), "management").filter { $0["eventType"] as? String == "START" }
        }
        let processed = await lab.eventually(timeout: .seconds(60)) {
            starts().contains { $0["status"] as? String == "PROCESSED" }
        }
        #expect(processed, "\(text())")
        #expect(starts().compactMap { $0["status"] as? String } == ["PENDING", "PROCESSED"], "\(text())")
        let last = try #require(starts().last)
        let host = try #require(try await lab.vms("web")["web-1"]?["host"] as? String)
        #expect(last["routingKey"] as? String == "lab-manager.\(host).web-1.START", "\(last)")
        #expect((last["message"] as? [String: Any])?["status"] as? String == "RUNNING", "\(last)")

        // torpor events saw the same: LC_JOIN for host-2, START PENDING then PROCESSED with the same routing key.
        let wireSaw = await lab.eventually(timeout: .seconds(60)) {
            wireEvents().contains { $0["eventType"] as? String == "START" && $0["status"] as? String == "PROCESSED" }
        }
        #expect(wireSaw, "\(wireEvents())")
        let wire = wireEvents()
        #expect(
            wire.contains {
                $0["eventType"] as? String == "LC_JOIN"
                    && ($0["message"] as? [String: Any])?["id"] as? String == "host-2"
            },
            "\(wire)"
        )
        let wireStarts = wire.filter { $0["eventType"] as? String == "START" }
        #expect(wireStarts.compactMap { $0["status"] as? String } == ["PENDING", "PROCESSED"], "\(wire)")
        #expect(wireStarts.last?["routingKey"] as? String == last["routingKey"] as? String)
        #expect(wireStarts.last?["sequence"] as? Int == last["sequence"] as? Int, "one event, two ways out")
    }
}
