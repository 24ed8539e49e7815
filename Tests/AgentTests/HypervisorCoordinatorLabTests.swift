import Commands
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What the suite needs that is missing, if anything.
private let coordinatorLabProblem: String? = {
    let missing = ["curl", "qemu-img", "genisoimage", "sha256sum"].filter { !CommandRunner.isRunnable($0, path: nil) }
    return missing.isEmpty ? nil : "not installed: \(missing.joined(separator: ", ")) (scripts/install-deps)"
}()

/// Hypervisor-Coordinator's REST API (seed 003) with curl against a lab: the real manager with its HTTP front, real
/// agents on libvirt's test driver, VMs made from a flavor and an image with real qemu-img and genisoimage. Every
/// call, nothing fitting (0), unknown ids (0), an unknown path (0), and the numbers after a manager restart.
@Suite(
    .serialized,
    .enabled(if: EndToEnd.runs(coordinatorLabProblem), EndToEnd.reason(coordinatorLabProblem)),
    .timeLimit(.minutes(10))
)
struct HypervisorCoordinatorLabTests {
    struct Answer {
        var status: Int
        var body: String

        func json() throws -> [String: Any] {
            try #require(
                try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
                "not a JSON object: \(status) \(body)"
            )
        }
    }

    /// `curl http://127.0.0.1:PORT/PATH` as the seed's clients call it: the status and the body.
    static func curl(_ port: Int, _ path: String) async throws -> Answer {
        let output = try await ProcessRunner.run(
            ["curl", "-sS", "--max-time", "200", "-w", "\n%{http_code}", "http://127.0.0.1:\(port)\(path)"],
            timeout: .seconds(240)
        )
        try #require(output.status == 0, "\(output)")
        let lines = output.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return Answer(status: Int(lines.last ?? "") ?? 0, body: lines.dropLast().joined(separator: "\n"))
    }

    @Test func everyCallWithCurlAgainstALab() async throws {
        try EndToEnd.require(coordinatorLabProblem)
        let lab = try await LabUnderTest.up(hosts: 2, httpFront: true)
        defer { lab.tearDown() }
        let port = try #require(lab.httpPort)
        func call(_ path: String) async throws -> Answer { try await Self.curl(port, path) }
        func managerLog() -> String { String(lab.log("manager").suffix(3000)) }

        // The catalog: two flavors (one larger than any host) and one image.
        let image = lab.directory.appendingPathComponent("ubuntu.qcow2").path
        let made = try await ProcessRunner.run(["qemu-img", "create", "-q", "-f", "qcow2", image, "64M"])
        try #require(made.succeeded, "\(made)")
        for flavor in [["small", "2", "512M", "1G"], ["huge", "8", "1G", "1G"]] {
            let created = try await lab.torpor(
                ["flavor", "create", flavor[0], "--vcpus", flavor[1], "--memory", flavor[2], "--disk", flavor[3]]
            )
            try #require(created.succeeded, "\(created)")
        }
        try #require(try await lab.torpor(["image", "add", "Ubuntu12.04amd64", image]).succeeded)

        let types = try await call("/vm/types")
        #expect(types.status == 200)
        let typeList = try #require(try types.json()["types"] as? [[String: Int]], "\(types)")
        #expect(
            typeList == [["tid": 1, "cpu": 2, "ram": 512, "disk": 1], ["tid": 2, "cpu": 8, "ram": 1024, "disk": 1]],
            "\(types)"
        )
        let images = try await call("/image/list")
        #expect(images.body == #"{"images":[{"id":1,"name":"Ubuntu12.04amd64"}]}"#, "\(images)")
        let machines = try await call("/pm/list")
        #expect(machines.body == #"{"pmids":[1,2]}"#, "\(machines)")
        let idle = try await call("/pm/query?pmid=1").json()
        #expect(idle["capacity"] as? [String: Int] != nil, "\(idle)")
        #expect((idle["capacity"] as? [String: Int])?["cpu"] == 4, "\(idle)")
        #expect((idle["capacity"] as? [String: Int])?["ram"] == 8192, "\(idle)")
        #expect(((idle["capacity"] as? [String: Int])?["disk"] ?? 0) > 0, "\(idle)")
        #expect((idle["free"] as? [String: Int])?["cpu"] == 4, "\(idle)")
        #expect(idle["vms"] as? Int == 0, "\(idle)")

        // A VM from flavor 1 and image 1, placed and started by the manager's policy.
        let created = try await call("/vm/create?name=test_vm&instance_type=1&image_id=1")
        #expect(created.status == 200, "\(created)\n\(managerLog())")
        let vmid = try #require(try created.json()["vmid"] as? Int, "\(created)")
        #expect(vmid > 0)
        let queried = try await call("/vm/query?vmid=\(vmid)").json()
        #expect(queried["vmid"] as? Int == vmid)
        #expect(queried["name"] as? String == "test_vm")
        #expect(queried["instance_type"] as? Int == 1)
        #expect(queried["image_id"] as? Int == 1)
        #expect(queried["state"] as? String == "running", "\(queried)")
        let pmid = try #require(queried["pmid"] as? Int, "\(queried)")
        #expect([1, 2].contains(pmid), "\(queried)")
        #expect(try await call("/pm/listvms?pmid=\(pmid)").body == #"{"vmids":[\#(vmid)]}"#)
        #expect(try await call("/pm/listvms?pmid=\(3 - pmid)").body == #"{"vmids":[]}"#)
        let busy = try await call("/pm/query?pmid=\(pmid)").json()
        #expect(busy["pmid"] as? Int == pmid)
        #expect((busy["free"] as? [String: Int])?["cpu"] == 2, "\(busy)")
        #expect((busy["free"] as? [String: Int])?["ram"] == 8192 - 512, "\(busy)")
        #expect(busy["vms"] as? Int == 1, "\(busy)")
        // The agent runs it (the test driver's domain list on its host).
        #expect(try await lab.domains(onAgent: pmid)["test_vm"] != nil)

        // Nothing fits 8 vCPUs on 4-core hosts: 0, and nothing is left of the VM.
        let tooBig = try await call("/vm/create?name=big_vm&instance_type=2&image_id=1")
        #expect(tooBig.status == 409, "\(tooBig)")
        #expect(try tooBig.json()["vmid"] as? Int == 0, "\(tooBig)")
        #expect((try tooBig.json()["error"] as? String)?.contains("nothing fits huge") == true, "\(tooBig)")
        let gone = try await lab.torpor(["vm", "info", "big_vm"])
        #expect(gone.status != 0, "\(gone)")
        let leftFiles = try FileManager.default.contentsOfDirectory(atPath: lab.lab + "/images")
        #expect(!leftFiles.contains { $0.hasPrefix("big_vm") }, "\(leftFiles)")

        // Unknown ids, bad and missing arguments: 0 in the call's field, a 4xx naming the problem.
        let refusals: [(String, Int, String, String)] = [
            ("/vm/query?vmid=999", 404, "vmid", "no VM with vmid 999"),
            ("/vm/destroy?vmid=999", 404, "status", "no VM with vmid 999"),
            ("/vm/create?name=x&instance_type=99&image_id=1", 404, "vmid", "no instance type with tid 99"),
            ("/vm/create?name=x&instance_type=1&image_id=99", 404, "vmid", "no image with id 99"),
            ("/vm/create?name=test_vm&instance_type=1&image_id=1", 409, "vmid", "test_vm"),
            ("/vm/create?name=a%20b&instance_type=1&image_id=1", 400, "vmid", "is not a valid VM name"),
            ("/vm/create?instance_type=1&image_id=1", 400, "vmid", "needs the argument name"),
            ("/vm/query?vmid=abc", 400, "vmid", "vmid must be a positive whole number, not 'abc'"),
            ("/pm/query?pmid=99", 404, "pmid", "no physical machine with pmid 99"),
            ("/pm/listvms?pmid=99", 404, "vmids", "no physical machine with pmid 99"),
            ("/pm/listvms", 400, "vmids", "needs the argument pmid"),
        ]
        for (path, status, field, message) in refusals {
            let answer = try await call(path)
            #expect(answer.status == status, "\(path): \(answer)")
            let object = try answer.json()
            #expect(object[field] as? Int == 0, "\(path): \(answer)")
            #expect((object["error"] as? String)?.contains(message) == true, "\(path): \(answer)")
        }
        // Any other call returns 0.
        for path in ["/vm/reboot?vmid=\(vmid)", "/pm", "/image/upload", "/vm/create/extra"] {
            let answer = try await call(path)
            #expect(answer.status == 404 && answer.body == "0", "\(path): \(answer)")
        }

        // The numbers stay after a restart of the manager on its database.
        // curl's exit status alone: 0 once the front answers, 7 while nothing listens.
        func answers(_ path: String) async -> Bool {
            let probe = try? await ProcessRunner.run(
                ["curl", "-sS", "--max-time", "10", "-o", "/dev/null", "http://127.0.0.1:\(port)\(path)"]
            )
            return probe?.status == 0
        }
        let oldPid = try lab.process("manager").pid
        kill(pid_t(oldPid), SIGTERM)
        let stopped = await lab.eventually(timeout: .seconds(60)) { await !answers("/pm/list") }
        try #require(stopped, "the manager did not stop")
        // Gone, not only silent: a manager still shutting down holds its Wire port, and the new one could not bind.
        let exited = await lab.eventually(timeout: .seconds(60)) { !TorporLabTests.isAlive(oldPid) }
        try #require(exited, "the manager (pid \(oldPid)) did not exit after SIGTERM")
        let manager = try lab.restart("manager")
        defer { manager.kill() }
        let back = await lab.eventually(timeout: .seconds(90)) { await answers("/vm/query?vmid=\(vmid)") }
        let restartedStderr =
            (try? String(
                contentsOf: lab.directory.appendingPathComponent("manager-restarted.stderr"),
                encoding: .utf8
            )) ?? ""
        try #require(back, "the manager did not answer after its restart; its stderr: \(restartedStderr.suffix(2000))")
        let again = try await call("/vm/query?vmid=\(vmid)").json()
        #expect(again["name"] as? String == "test_vm" && again["pmid"] as? Int == pmid, "\(again)")
        #expect(try await call("/pm/list").body == #"{"pmids":[1,2]}"#)
        #expect(try await call("/image/list").body == #"{"images":[{"id":1,"name":"Ubuntu12.04amd64"}]}"#)
        // The manager answers before its agents have rejoined it (each after its reconnect backoff); until then a
        // destroy is refused, rightly, with "host-1 is not connected".
        let rejoined = await lab.eventually(timeout: .seconds(60)) {
            let hosts = try await lab.hosts()
            return hosts.count == 2 && hosts.values.allSatisfy { $0["connected"] as? Bool == true }
        }
        try #require(rejoined, "the agents did not rejoin the restarted manager")

        // Destroyed: 1, then the VM and its number are gone and its host is free again.
        let destroyed = try await call("/vm/destroy?vmid=\(vmid)")
        #expect(destroyed.body == #"{"status":1}"#, "\(destroyed)\n\(managerLog())")
        #expect(try await call("/vm/query?vmid=\(vmid)").status == 404)
        #expect(try await call("/pm/listvms?pmid=\(pmid)").body == #"{"vmids":[]}"#)
        let freed = try await call("/pm/query?pmid=\(pmid)").json()
        #expect((freed["free"] as? [String: Int])?["cpu"] == 4, "\(freed)")
        #expect(try await lab.domains(onAgent: pmid)["test_vm"] == nil)
        // The next VM gets a new number.
        let next = try await call("/vm/create?name=second_vm&instance_type=1&image_id=1")
        #expect(((try next.json()["vmid"] as? Int) ?? 0) > vmid, "\(next)")
    }
}
