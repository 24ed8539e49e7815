import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A `torpor-lab` lab on libvirt's test driver, brought up for one test and always torn down: the real torpor-lab,
/// torpor, torpor-manager and torpor-agent binaries, talking over loopback.
final class LabUnderTest: @unchecked Sendable {
    let torpor: String
    let directory: URL
    let lab: String
    let basePort: Int
    /// The manager's HTTP front (Snooze's API), when the lab was brought up with one.
    private(set) var httpPort: Int?
    /// Every daemon pid seen, including a manager restarted by the test, so teardown leaves nothing behind.
    private(set) var pids: [Int] = []
    /// The manager's address: on the lab's bridge with --wol, else loopback; with --ha every manager's, the
    /// bootstrap list `torpor --manager` follows the leader through.
    var manager: String {
        let state = labState()
        let host = (state?["manager"] as? [String: Any])?["host"] as? String
        let standbys = ((state?["standbyManagers"] as? [[String: Any]]) ?? []).compactMap { entry -> String? in
            (entry["port"] as? Int).map { "\(entry["host"] as? String ?? "127.0.0.1"):\($0)" }
        }
        return (["\(host ?? "127.0.0.1"):\(basePort)"] + standbys).joined(separator: ",")
    }

    private init(torpor: String, directory: URL, basePort: Int) {
        self.torpor = torpor
        self.directory = directory
        self.lab = directory.appendingPathComponent("lab").path
        self.basePort = basePort
    }

    /// Brings up `hosts` agents with `cores` cores each under the given placement policy.
    static func up(
        hosts: Int,
        cores: Int = 4,
        policy: String = "first-fit",
        extra: [String] = [],
        portsPerHost: Int = 1,
        httpFront: Bool = false,
        environment: [String: String]? = nil,
        timeout: Duration = .seconds(90)
    ) async throws -> LabUnderTest {
        let torpor = try KVMLab.product("torpor")
        let torporLab = try KVMLab.product("torpor-lab")
        _ = try KVMLab.product("torpor-manager")
        _ = try KVMLab.product("torpor-agent")
        _ = try KVMLab.product("agentctl")
        let lab = LabUnderTest(
            torpor: torpor,
            directory: try ProcessRunner.scratchDirectory(prefix: "torpor-vc-lab"),
            basePort: TorporLabTests.freePortRange(count: hosts * portsPerHost + 1 + (httpFront ? 1 : 0))
        )
        // The HTTP front takes the port after the lab's own.
        if httpFront { lab.httpPort = lab.basePort + hosts * portsPerHost + 1 }
        let up = try await ProcessRunner.run(
            [
                torporLab, "up", "--hosts", "\(hosts)", "--dir", lab.lab, "--base-port", "\(lab.basePort)",
                "--policy", policy, "--host-cores", "\(cores)",
            ] + (lab.httpPort.map { ["--http-port", "\($0)"] } ?? []) + extra,
            environment: environment,
            timeout: timeout
        )
        lab.recordPids()
        guard up.status == 0 else {
            // The manager's log says why it stopped; tearDown removes it.
            let managerLog = (try? String(contentsOfFile: "\(lab.lab)/manager.log", encoding: .utf8)) ?? "(none)"
            lab.tearDown()
            throw ProcessRunnerError(description: "lab up failed:\n\(up)\n--- manager.log\n\(managerLog.suffix(4000))")
        }
        return lab
    }

    /// A lab directory and base port for a test that runs `torpor-lab up` itself; `tearDown` still cleans up.
    static func unstarted(hosts: Int, portsPerHost: Int = 1) throws -> LabUnderTest {
        LabUnderTest(
            torpor: try KVMLab.product("torpor"),
            directory: try ProcessRunner.scratchDirectory(prefix: "torpor-vc-lab"),
            basePort: TorporLabTests.freePortRange(count: hosts * portsPerHost + 1)
        )
    }

    private func recordPids() {
        guard let state = labState() else { return }
        var processes =
            ((state["agents"] as? [Any]) ?? []) + ((state["bmcs"] as? [Any]) ?? []) + ((state["nics"] as? [Any]) ?? [])
        if let manager = state["manager"] { processes.append(manager) }
        processes += ((state["standbyManagers"] as? [Any]) ?? []) + (state["etcd"].map { [$0] } ?? [])
        processes += (state["groupManagers"] as? [Any]) ?? []
        for pid in processes.compactMap({ ($0 as? [String: Any])?["pid"] as? Int }) where !pids.contains(pid) {
            pids.append(pid)
        }
    }

    func labState() -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: "\(lab)/lab.json") else { return nil }
        return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    }

    /// The pid and command line of a lab process ("manager", "agent-2").
    func process(_ name: String) throws -> (pid: Int, config: String, executable: String) {
        let state = try #require(labState())
        let all =
            ((state["agents"] as? [[String: Any]]) ?? []) + ((state["bmcs"] as? [[String: Any]]) ?? [])
            + ((state["nics"] as? [[String: Any]]) ?? []) + [(state["manager"] as? [String: Any]) ?? [:]]
            + ((state["standbyManagers"] as? [[String: Any]]) ?? [])
            + ((state["groupManagers"] as? [[String: Any]]) ?? [])
        let entry = try #require(all.first { $0["name"] as? String == name }, "no \(name) in lab.json")
        return (
            try #require(entry["pid"] as? Int), try #require(entry["config"] as? String),
            try #require(entry["executable"] as? String)
        )
    }

    /// The pids of every live agent of host `index` (started by the lab, its BMC or a test): processes running the
    /// torpor-agent binary with that agent's configuration.
    func agentPids(_ index: Int) -> [Int] {
        guard let (_, config, executable) = try? process("agent-\(index)") else { return [] }
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int.init).filter {
            pid in
            guard TorporLabTests.isAlive(pid),
                let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe"),
                exe.hasPrefix(executable),
                let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")
            else { return false }
            return data.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == config }
        }
    }

    /// Starts a process again the way lab up did; the test owns it from then on.
    func restart(_ name: String, arguments: [String] = []) throws -> BackgroundProcess {
        let (_, config, executable) = try process(name)
        let process = try BackgroundProcess(
            [executable, "--config", config] + arguments,
            stdout: directory.appendingPathComponent("\(name)-restarted.stdout"),
            stderr: directory.appendingPathComponent("\(name)-restarted.stderr")
        )
        pids.append(Int(process.pid))
        return process
    }

    func torpor(_ arguments: [String], timeout: Duration = .seconds(120)) async throws -> ProcessOutput {
        try await ProcessRunner.run(
            [torpor] + arguments + ["--manager", manager],
            environment: cliEnvironment,
            timeout: timeout
        )
    }

    /// The operator certificate of a TLS lab (`--tls`, `--wol`: DIR/tls), for agentctl and torpor; nil (this
    /// process's environment) for a plaintext lab.
    var cliEnvironment: [String: String]? {
        let tls = lab + "/tls"
        guard FileManager.default.fileExists(atPath: tls + "/operator.pem") else { return nil }
        return ProcessInfo.processInfo.environment.filter { key, _ in
            key != "NOTIFY_SOCKET" && !key.hasPrefix("WATCHDOG_") && !key.hasPrefix("LISTEN_")
        }.merging([
            "TORPOR_CA": tls + "/ca/ca.pem", "TORPOR_CERT": tls + "/operator.pem",
            "TORPOR_KEY": tls + "/operator-key.pem",
        ]) { _, new in new }
    }

    func json(_ arguments: [String]) async throws -> Any {
        let output = try await torpor(arguments + ["--json"])
        guard output.status == 0 else { throw ProcessRunnerError(description: "\(output)") }
        return try JSONSerialization.jsonObject(with: Data(output.stdout.utf8))
    }

    /// `torpor vc info CLUSTER --json`'s VMs by name.
    func vms(_ cluster: String) async throws -> [String: [String: Any]] {
        let info = try #require(try await json(["vc", "info", cluster]) as? [String: Any])
        let vms = try #require(info["vms"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: vms.compactMap { vm in (vm["name"] as? String).map { ($0, vm) } })
    }

    /// `torpor hosts --json`'s hosts by id.
    func hosts() async throws -> [String: [String: Any]] {
        let reply = try #require(try await json(["hosts"]) as? [String: Any])
        let hosts = try #require(reply["hosts"] as? [[String: Any]])
        return Dictionary(
            uniqueKeysWithValues: hosts.compactMap { host in (host["hostId"] as? String).map { ($0, host) } }
        )
    }

    /// Agent `index`'s address: in its namespace with --wol, else loopback.
    func agentAddress(_ index: Int) -> String {
        let agents = (labState()?["agents"] as? [[String: Any]]) ?? []
        let host = agents.first { $0["name"] as? String == "agent-\(index)" }?["host"] as? String
        return "\(host ?? "127.0.0.1"):\(basePort + index)"
    }

    /// The VM names an agent's libvirt holds, from `agentctl status --json`.
    func domains(onAgent index: Int) async throws -> [String: String] {
        let output = try await ProcessRunner.run(
            [try KVMLab.product("agentctl"), "status", "--agent", agentAddress(index), "--json"],
            environment: cliEnvironment
        )
        guard output.status == 0 else { throw ProcessRunnerError(description: "\(output)") }
        let status = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
        let vms = (status["vms"] as? [[String: Any]]) ?? []
        return Dictionary(
            vms.compactMap { vm in (vm["name"] as? String).map { ($0, (vm["state"] as? String) ?? "") } },
            uniquingKeysWith: { first, _ in first }
        )
    }

    /// Polls `condition` every 250 ms until it holds or `timeout` passes; returns whether it held.
    func eventually(timeout: Duration, _ condition: () async throws -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if (try? await condition()) == true { return true }
            try? await Task.sleep(for: .milliseconds(250))
        }
        return (try? await condition()) == true
    }

    /// A template for the test driver with `cores` vCPUs and `mib` MiB.
    func template(cores: Int = 1, mib: Int = 512, name: String = "tpl", disk: String? = nil) throws -> String {
        let diskXML = disk.map { "<disk type='file' device='disk'><source file='\($0)'/><target dev='vda'/></disk>" }
        let xml = """
            <domain type='test'>
              <name>\(name)</name>
              <memory unit='MiB'>\(mib)</memory>
              <vcpu>\(cores)</vcpu>
              <os><type arch='x86_64'>hvm</type></os>
              <devices>\(diskXML ?? "")<interface type='network'><source network='default'/></interface></devices>
            </domain>
            """
        let path = directory.appendingPathComponent("\(name)-\(cores)c-\(mib)m.xml").path
        try xml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func log(_ name: String) -> String {
        (try? String(contentsOfFile: "\(lab)/\(name).log", encoding: .utf8)) ?? ""
    }

    func tearDown() {
        recordPids()
        for pid in pids where pid > 0 && TorporLabTests.isAlive(pid) { kill(pid_t(pid), SIGKILL) }
        // Agents a BMC restarted have pids lab.json never saw: anything whose command line names this lab goes.
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), pid > 1, pid != getpid(),
                let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
                String(decoding: data, as: UTF8.self).contains(lab)
            else { continue }
            kill(pid, SIGKILL)
        }
        // A --libvirt kvm lab's libvirtds, each with its guests, all at once.
        let null = URL(fileURLWithPath: "/dev/null")
        let stops = ((labState()?["libvirtDaemons"] as? [[String: Any]]) ?? []).compactMap { daemon in
            (daemon["base"] as? String).flatMap {
                try? BackgroundProcess([KVMLab.script, "stop", $0], stdout: null, stderr: null)
            }
        }
        for stop in stops where !stop.waitForExitBlocking(timeout: .seconds(90)) { stop.kill() }
        // A --wol or --libvirt kvm lab's namespaces and bridge.
        if let network = labState()?["network"] as? [String: Any] {
            for namespace in (network["namespaces"] as? [String]) ?? [] {
                Self.ip(["netns", "del", namespace])
            }
            if let bridge = network["bridge"] as? String { Self.ip(["link", "del", bridge]) }
        }
        // TORPOR_KEEP_LAB=1 keeps the lab's directory (its logs, lab.json) to read after a failure.
        if ProcessInfo.processInfo.environment["TORPOR_KEEP_LAB"] == "1" {
            print("LabUnderTest: kept \(directory.path)")
        } else {
            try? FileManager.default.removeItem(at: directory)
        }
    }

    private static func ip(_ arguments: [String]) {
        _ = try? ChildProcess.runBlocking("/usr/sbin/ip", arguments)
    }
}
