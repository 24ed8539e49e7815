import Foundation
import Testing

/// What the suite needs that is missing, if anything.
private let snoozeLabProblem: String? = ["/usr/bin/curl", "/usr/bin/python3"].first {
    !FileManager.default.isExecutableFile(atPath: $0)
}.map { "\($0) is missing" }

/// Snooze's clients against a lab: the real manager with its HTTP front, real agents on libvirt's test driver. The
/// seeds' curl commands run as written against the lab's port, and a Python script does what a libcloud user does.
@Suite(
    "Snooze's REST API in a lab",
    .serialized,
    .enabled(
        if: snoozeLabProblem == nil || ProcessInfo.processInfo.environment["TORPOR_REQUIRE_E2E"] == "1",
        "needs curl and python3 (scripts/install-deps)"
    )
)
struct SnoozeLabTests {
    static let problem = snoozeLabProblem

    static func curl(_ arguments: [String]) async throws -> ProcessOutput {
        try #require(problem == nil, "TORPOR_REQUIRE_E2E=1 but \(problem ?? "")")
        return try await ProcessRunner.run(["/usr/bin/curl", "-sS", "--max-time", "60"] + arguments)
    }

    static func json(_ output: ProcessOutput) throws -> [String: Any] {
        try #require(output.status == 0, "\(output)")
        return try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any], "\(output)")
    }

    @Test("the seeds' curl commands, as written, against the lab's port")
    func seedCommands() async throws {
        let lab = try await LabUnderTest.up(hosts: 2, httpFront: true)
        defer { lab.tearDown() }
        let port = try #require(lab.httpPort)
        // curl localhost:5000/bootstrap?getGroupLeaderDescription
        let leader = try Self.json(try await Self.curl(["localhost:\(port)/bootstrap?getGroupLeaderDescription"]))
        #expect(leader["id"] as? String == "lab-manager")
        let control = try #require((leader["listenSettings"] as? [String: Any])?["controlDataAddress"] as? [String: Any])
        #expect(control["port"] as? Int == port)
        // curl localhost:5000/bootstrap?getLocalControllerList
        let list = try Self.json(try await Self.curl(["localhost:\(port)/bootstrap?getLocalControllerList"]))
        let controllers = try #require(list["localControllers"] as? [[String: Any]])
        #expect(controllers.compactMap { $0["id"] as? String } == ["host-1", "host-2"])
        #expect(controllers.allSatisfy { $0["status"] as? String == "ACTIVE" }, "\(controllers)")
        #expect(controllers.allSatisfy { ($0["totalCapacity"] as? [Double])?.first == 4 }, "\(controllers)")
        // curl http://localhost:5000/bootstrap?getCompleteHierarchy
        let hierarchy = try Self.json(try await Self.curl(["http://localhost:\(port)/bootstrap?getCompleteHierarchy"]))
        let managers = try #require(hierarchy["groupManagerDescriptions"] as? [[String: Any]])
        #expect((managers.first?["localControllers"] as? [String: Any]).map { Set($0.keys) } == ["host-1", "host-2"])

        // curl -H "Content-Type: application/json" -X POST -d "$template" http://localhost:5001/groupmanager?startVirtualCluster
        // with the seed's template on the lab's test driver: its domain type and disk made the lab's.
        let disk = lab.directory.appendingPathComponent("debian1.qcow2").path
        _ = FileManager.default.createFile(atPath: disk, contents: Data())
        let template = try String(contentsOfFile: try Self.seedTemplate(), encoding: .utf8)
            .replacingOccurrences(of: #"type=\"kvm\""#, with: #"type=\"test\""#)
            .replacingOccurrences(of: "path_to_disk_image", with: disk)
        let started = try await Self.curl([
            "-H", "Content-Type: application/json", "-X", "POST", "-d", template,
            "http://localhost:\(port)/groupmanager?startVirtualCluster",
        ])
        #expect(started.status == 0, "\(started)")
        let taskID = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(taskID.hasPrefix("t-"), "\(started)")
        // curl -H "Content-Type: application/json" -X POST -d "a4fba1c6-…" http://localhost:5001/groupmanager?getVirtualClusterResponse
        var response: [String: Any] = [:]
        let answered = await lab.eventually(timeout: .seconds(60)) {
            let reply = try await Self.curl([
                "-H", "Content-Type: application/json", "-X", "POST", "-d", taskID,
                "http://localhost:\(port)/groupmanager?getVirtualClusterResponse",
            ])
            guard !reply.stdout.isEmpty else { return false }
            response = try Self.json(reply)
            return true
        }
        #expect(answered)
        let meta = try #require((response["virtualMachineMetaData"] as? [[String: Any]])?.first, "\(response)")
        #expect(meta["status"] as? String == "RUNNING", "\(meta)")
        #expect((meta["ipAddress"] as? String)?.hasPrefix("10.42.0.") == true, "\(meta)")
        let requested: [Double] = [1, 200_000, 12_800, 12_800]
        #expect(meta["requestedCapacity"] as? [Double] == requested, "\(meta)")
        let host = (meta["virtualMachineLocation"] as? [String: Any])?["localControllerId"] as? String
        #expect(host == "host-1", "\(meta)")
        // The agent runs it: the test driver's domain list on host-1 shows debian1.
        #expect(try await lab.domains(onAgent: 1)["debian1"] != nil)
        // A request line without its leading slash, as Snooze's old client sent it, over a plain socket.
        let raw = try await ProcessRunner.run([
            "/usr/bin/python3", "-c",
            """
            import socket; s = socket.create_connection(("127.0.0.1", \(port)))
            s.sendall(b"GET bootstrap?getLocalControllerList HTTP/1.1\\r\\nHost: h\\r\\nConnection: close\\r\\n\\r\\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk: break
                data += chunk
            print(data.split(b"\\r\\n")[0].decode())
            """,
        ])
        #expect(raw.stdout.hasPrefix("HTTP/1.1 200"), "\(raw)")
    }

    @Test("a libcloud user's session: create, RUNNING, suspend, resume, shutdown, destroy")
    func libcloudSession() async throws {
        try #require(Self.problem == nil, "TORPOR_REQUIRE_E2E=1 but \(Self.problem ?? "")")
        let lab = try await LabUnderTest.up(hosts: 2, httpFront: true)
        defer { lab.tearDown() }
        let port = try #require(lab.httpPort)
        let script = try #require(Bundle.module.url(forResource: "Fixtures/snooze/libcloud_flow", withExtension: "py"))
        let run = try await ProcessRunner.run(
            ["/usr/bin/python3", script.path, "127.0.0.1", "\(port)", try lab.template(name: "node-1")],
            timeout: .seconds(300)
        )
        #expect(run.status == 0, "\(run)")
        let seen = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run)")
        #expect(seen["start"] as? String == "RUNNING", "\(seen)")
        #expect((seen["ipAddress"] as? String)?.hasPrefix("10.42.0.") == true, "\(seen)")
        #expect(seen["suspend"] as? String == "PAUSED", "\(seen)")
        #expect(seen["resume"] as? String == "RUNNING", "\(seen)")
        // Off once the host's inventory says so; SHUTDOWN_PENDING until then (the test driver powers off at once,
        // so the next inventory may already show it off).
        let shutdown = try #require(seen["shutdown"] as? [String], "\(seen)")
        #expect(shutdown.last == "OFFLINE", "\(seen)")
        #expect(shutdown.dropLast().allSatisfy { $0 == "SHUTDOWN_PENDING" }, "\(seen)")
        #expect(seen["destroy"] as? String == "gone:404", "\(seen)")
        #expect(try await lab.domains(onAgent: 1)["node-1"] == nil)
    }

    @Test("an HTTP port in use ends torpor-manager with status 1, naming http.listen")
    func httpBindFailureExitsOne() async throws {
        // Something already listens on the port: the lab's own HTTP front.
        let lab = try await LabUnderTest.up(hosts: 1, httpFront: true)
        defer { lab.tearDown() }
        let port = try #require(lab.httpPort)
        let config = lab.directory.appendingPathComponent("second-manager.yaml").path
        try """
            listen: 127.0.0.1:0
            database: \(lab.directory.appendingPathComponent("second.sqlite").path)
            http: { listen: "127.0.0.1:\(port)", snooze: { enabled: true } }
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let run = try await ProcessRunner.run(
            [try KVMLab.product("torpor-manager"), "--config", config, "--log", "stderr"],
            timeout: .seconds(60)
        )
        #expect(run.status == 1, "\(run)")
        #expect(run.stderr.contains("torpor-manager: cannot listen on 127.0.0.1:\(port) (http.listen): "), "\(run)")
    }

    /// The startVirtualCluster body of seed 000, verbatim (the same as ManagerTests' `SnoozeSeedRequests`).
    static func seedTemplate() throws -> String {
        try #require(Bundle.module.url(forResource: "Fixtures/snooze/startVirtualCluster", withExtension: "json")).path
    }
}
