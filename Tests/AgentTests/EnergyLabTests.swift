import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The energy loop end to end: `torpor-lab up --bmc` gives every host a real OpenIPMI BMC (ipmi_sim) whose power
/// on starts the host's agent and power off stops it; the manager puts idle hosts to sleep through the agents'
/// configured power command and wakes them through IPMI when a submission needs their capacity.
@Suite("energy saving in a lab", .serialized)
struct EnergyLabTests {
    static func bmcLab(hosts: Int = 4) async throws -> LabUnderTest {
        try await LabUnderTest.up(
            hosts: hosts,
            cores: 4,
            extra: ["--bmc", "--idle-time", "2", "--reserved", "1", "--minimum-awake", "0"],
            portsPerHost: 3
        )
    }

    /// `ipmitool … chassis power status` against host `index`'s BMC, the password read from its file.
    static func chassisPower(_ lab: LabUnderTest, host index: Int, hosts: Int) async throws -> String {
        let output = try await ProcessRunner.run([
            "ipmitool", "-I", "lanplus", "-C", "3", "-H", "127.0.0.1", "-p", "\(lab.basePort + hosts + index)",
            "-U", "admin", "-f", "\(lab.lab)/bmc-\(index)/password", "chassis", "power", "status",
        ])
        return output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Waits until `count` hosts are asleep and each one's BMC reports power off; returns them.
    static func asleepAndOff(_ lab: LabUnderTest, count: Int, hosts: Int) async throws -> Set<String> {
        let slept = await lab.eventually(timeout: .seconds(30)) { try await Self.sleeping(lab).count == count }
        let asleep = try await Self.sleeping(lab)
        try #require(slept, "sleeping: \(asleep)")
        for host in asleep {
            let index = Int(host.dropFirst("host-".count))!
            let off = await lab.eventually(timeout: .seconds(30)) {
                try await Self.chassisPower(lab, host: index, hosts: hosts) == "Chassis Power is off"
            }
            try #require(off, "\(host)'s BMC does not report power off")
        }
        return asleep
    }

    /// `vc start` of a cluster of two 4-core VMs: more than one 4-core lab host holds.
    static func startEightCores(_ lab: LabUnderTest) async throws -> ProcessOutput {
        #expect(try await lab.torpor(["vc", "define", "big"]).status == 0)
        #expect(
            try await lab.torpor(["vc", "add", "big", try lab.template(cores: 4), "--name", "b", "--count", "2"]).status
                == 0
        )
        return try await lab.torpor(["vc", "start", "big", "--json"])
    }

    /// SIGTERMs the lab's manager and waits until it has exited.
    static func stopManager(_ lab: LabUnderTest) async throws {
        let pid = try lab.process("manager").pid
        kill(pid_t(pid), SIGTERM)
        let exited = await lab.eventually(timeout: .seconds(60)) { !TorporLabTests.isAlive(pid) }
        try #require(exited, "the manager (pid \(pid)) did not exit after SIGTERM")
    }

    /// What the manager started again by `lab.restart("manager", arguments: ["--log", "stderr"])` has logged.
    static func restartedManagerLog(_ lab: LabUnderTest) -> String {
        (try? String(contentsOf: lab.directory.appendingPathComponent("manager-restarted.stderr"), encoding: .utf8))
            ?? ""
    }

    /// Stops the lab's manager, runs `change` while it is down, and starts it again logging to stderr
    /// (`restartedManagerLog`).
    static func restartManager(
        _ lab: LabUnderTest,
        changing change: () async throws -> Void = {}
    ) async throws -> BackgroundProcess {
        try await stopManager(lab)
        try await change()
        return try lab.restart("manager", arguments: ["--log", "stderr"])
    }

    /// Waits until the restarted manager lists exactly `hosts` SLEEPING; records an issue with its log if not.
    static func expectListedAsleep(_ lab: LabUnderTest, _ hosts: Set<String>, within timeout: Duration) async throws {
        let listed = await lab.eventually(timeout: timeout) { try await Self.sleeping(lab) == hosts }
        let sleepingNow = try await Self.sleeping(lab)
        #expect(listed, "sleeping: \(sleepingNow), expected \(hosts); log: \(restartedManagerLog(lab).suffix(3000))")
    }

    static func sleeping(_ lab: LabUnderTest) async throws -> Set<String> {
        Set(try await lab.hosts().filter { $0.value["state"] as? String == "SLEEPING" }.keys)
    }

    @Test("idle hosts sleep through the agent's command; a submission wakes exactly the hosts it needs via IPMI")
    func sleepAndWake() async throws {
        let lab = try await Self.bmcLab()
        defer { lab.tearDown() }
        // Idle time 2 s, one reserved host: three of four go to sleep.
        let slept = await lab.eventually(timeout: .seconds(30)) { try await Self.sleeping(lab).count == 3 }
        let asleep = try await Self.sleeping(lab)
        #expect(slept, "sleeping: \(asleep)")
        for host in asleep {
            let index = Int(host.dropFirst("host-".count))!
            let actions =
                (try? String(contentsOfFile: "\(lab.lab)/bmc-\(index)/power-actions.log", encoding: .utf8)) ?? ""
            #expect(actions.contains("suspend-to-ram"), "\(host) went down without the agent's command: \(actions)")
            let power = await lab.eventually(timeout: .seconds(10)) {
                try await Self.chassisPower(lab, host: index, hosts: 4) == "Chassis Power is off"
            }
            #expect(power, "\(host)'s BMC does not report power off")
        }
        let awake = try #require(Set(["host-1", "host-2", "host-3", "host-4"]).subtracting(asleep).first)
        #expect(lab.log("manager").contains("not reserved"))

        // Enough awake capacity (4 free cores): nothing is woken.
        #expect(try await lab.torpor(["vc", "define", "small"]).status == 0)
        #expect(
            try await lab.torpor(["vc", "add", "small", try lab.template(cores: 1), "--name", "s", "--count", "2"])
                .status == 0
        )
        #expect(try await lab.torpor(["vc", "start", "small"]).status == 0)
        #expect(try await Self.sleeping(lab) == asleep, "a host was woken although the awake one sufficed")
        #expect(try await lab.vms("small").values.allSatisfy { $0["host"] as? String == awake })

        // Six more cores than the awake host has left: exactly two sleeping hosts wake, through IPMI.
        #expect(try await lab.torpor(["vc", "define", "big"]).status == 0)
        #expect(
            try await lab.torpor(["vc", "add", "big", try lab.template(cores: 4), "--name", "b", "--count", "2"]).status
                == 0
        )
        let passwords = try (1...4).map {
            try String(contentsOfFile: "\(lab.lab)/bmc-\($0)/password", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        // While the wake runs, no process may show a BMC password on its command line.
        let watcher = Task {
            var seen: [String] = []
            while !Task.isCancelled {
                for pid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int(pid) != nil {
                    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { continue }
                    let line = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
                    if line.contains("ipmitool") { seen.append(line) }
                    for password in passwords where line.contains(password) { seen.append("LEAK: \(line)") }
                }
                try? await Task.sleep(for: .milliseconds(5))
            }
            return seen
        }
        let start = try await lab.torpor(["vc", "start", "big", "--json"])
        watcher.cancel()
        let seen = await watcher.value
        #expect(start.status == 0, "\(start)")
        #expect(!seen.contains { $0.hasPrefix("LEAK") }, "\(seen.filter { $0.hasPrefix("LEAK") })")
        let stillAsleep = try await Self.sleeping(lab)
        #expect(stillAsleep.count == 1, "exactly two hosts should have woken: still asleep \(stillAsleep)")
        let bigHosts = Set(try await lab.vms("big").values.compactMap { $0["host"] as? String })
        #expect(
            bigHosts.count == 2 && bigHosts.isDisjoint(with: stillAsleep) && !bigHosts.contains(awake),
            "\(bigHosts)"
        )
        #expect(lab.log("manager").contains("torpor.driver=IPMI"))
        let logs = lab.log("manager") + (0...4).map { lab.log("agent-\($0)") }.joined()
        for password in passwords { #expect(!logs.contains(password), "a BMC password is in a log") }
    }

    @Test("a manager restarted while hosts sleep knows them asleep and wakes one through IPMI when a start needs it")
    func sleepingHostsOutliveAManagerRestart() async throws {
        let lab = try await Self.bmcLab(hosts: 3)
        defer { lab.tearDown() }
        let asleep = try await Self.asleepAndOff(lab, count: 2, hosts: 3)
        let manager = try await Self.restartManager(lab)
        defer { manager.kill() }
        let restartedLog = { Self.restartedManagerLog(lab) }

        // Their agents cannot rejoin by themselves: the new manager lists them asleep from its database.
        try await Self.expectListedAsleep(lab, asleep, within: .seconds(60))
        let awake = try #require(Set(["host-1", "host-2", "host-3"]).subtracting(asleep).first)
        let rejoined = await lab.eventually(timeout: .seconds(60)) {
            try await lab.hosts()[awake]?["state"] as? String == "ACTIVE"
        }
        try #require(rejoined, "\(awake) did not rejoin the restarted manager")

        // The first run recorded what each host drew awake: the sleeping hosts save against it from the restart on,
        // though this run has never read them awake.
        var saved: [String: Double] = [:]
        let saving = await lab.eventually(timeout: .seconds(30)) {
            let energy = try #require(try await lab.json(["energy"]) as? [String: Any])
            for host in (energy["hosts"] as? [[String: Any]]) ?? [] {
                guard let id = host["hostId"] as? String, asleep.contains(id) else { continue }
                saved[id] = host["savedKilowattHours"] as? Double ?? 0
            }
            return saved.count == asleep.count && saved.values.allSatisfy { $0 > 0 }
        }
        #expect(saving, "saved by the sleeping hosts after the restart: \(saved)")

        // Eight cores where the awake host has four: one sleeping host is woken through its BMC.
        let start = try await Self.startEightCores(lab)
        #expect(start.status == 0, "\(start); log: \(restartedLog().suffix(3000))")
        let hosts = Set(try await lab.vms("big").values.compactMap { $0["host"] as? String })
        #expect(hosts.count == 2 && hosts.contains(awake), "\(hosts)")
        #expect(try await Self.sleeping(lab).count == 1)
        #expect(restartedLog().contains("torpor.driver=IPMI"))
        #expect(!restartedLog().contains("placing without hosts that have not rejoined"))
    }

    @Test("hosts recorded awake but powered off are found asleep through their BMCs after a manager restart")
    func poweredOffHostsAreFoundThroughTheirBMCs() async throws {
        let lab = try await Self.bmcLab(hosts: 2)
        defer { lab.tearDown() }
        let asleep = try await Self.asleepAndOff(lab, count: 1, hosts: 2)
        let index = Int(try #require(asleep.first).dropFirst("host-".count))!
        let manager = try await Self.restartManager(lab) {
            // As a manager from before power states were stored left it, or one whose SLEEPING write a crash lost.
            let forget = try await ProcessRunner.run([
                "sqlite3", "\(lab.lab)/manager.sqlite", "UPDATE host SET state = 'ACTIVE'",
            ])
            try #require(forget.succeeded, "\(forget)")
        }
        defer { manager.kill() }
        let restartedLog = { Self.restartedManagerLog(lab) }

        // Its agent cannot rejoin; once the rejoin window has passed, its BMC says it is off.
        try await Self.expectListedAsleep(lab, asleep, within: .seconds(90))
        #expect(restartedLog().contains("its BMC reports power off: tracked as asleep"))
        let stored = try await ProcessRunner.run([
            "sqlite3", "\(lab.lab)/manager.sqlite", "SELECT state FROM host WHERE id = 'host-\(index)'",
        ])
        #expect(stored.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "SLEEPING", "\(stored)")

        // Eight cores where the awake host has four: the found host is woken through its BMC.
        let start = try await Self.startEightCores(lab)
        #expect(start.status == 0, "\(start); log: \(restartedLog().suffix(3000))")
        #expect(try await Self.sleeping(lab).isEmpty)
        #expect(try await Self.chassisPower(lab, host: index, hosts: 2) == "Chassis Power is on")
    }

    /// Drops `host`'s section under `hosts:` from the lab's manager.yaml (its wake drivers and BMC).
    static func removeHostSection(_ host: String, from path: String) throws {
        var lines = try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "\n")
        let start = try #require(lines.firstIndex(of: "  \(host):"), "no \(host) under hosts: in \(path)")
        var end = start + 1
        while end < lines.count, lines[end].hasPrefix("    ") || lines[end].isEmpty { end += 1 }
        lines.removeSubrange(start..<end)
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test("a host asleep whose wake settings left manager.yaml is listed SLEEPING, never woken, and can be removed")
    func aSleepingHostNothingCanWake() async throws {
        let lab = try await Self.bmcLab(hosts: 2)
        defer { lab.tearDown() }
        let asleep = try await Self.asleepAndOff(lab, count: 1, hosts: 2)
        let host = try #require(asleep.first)
        let index = Int(host.dropFirst("host-".count))!
        let config = try lab.process("manager").config
        let manager = try await Self.restartManager(lab) { try Self.removeHostSection(host, from: config) }
        defer { manager.kill() }
        let restartedLog = { Self.restartedManagerLog(lab) }

        // Listed, so the operator sees it, though nothing can wake it.
        try await Self.expectListedAsleep(lab, asleep, within: .seconds(60))
        #expect(restartedLog().contains("has no wake driver configured: listed SLEEPING, never woken"))
        let wake = try await lab.torpor(["host", "wake", host])
        #expect(wake.status != 0)
        #expect(wake.stderr.contains("\(host) has no wake driver configured"), "\(wake)")

        // Eight cores where the awake host has four: the start cannot use the host that nothing can wake.
        let start = try await Self.startEightCores(lab)
        #expect(start.status != 0, "\(start)")
        let placed = Set(try await lab.vms("big").values.compactMap { $0["host"] as? String })
        #expect(!placed.contains(host), "\(placed)")
        #expect(try await Self.sleeping(lab) == asleep, "still asleep, not FAILED")
        #expect(try await Self.chassisPower(lab, host: index, hosts: 2) == "Chassis Power is off")
        #expect(!restartedLog().contains("torpor.driver=IPMI"))

        // Retired: no longer listed.
        let remove = try await lab.torpor(["host", "remove", host])
        #expect(remove.status == 0, "\(remove)")
        #expect(try await lab.hosts()[host] == nil)
    }

    @Test("an unreachable BMC: the host becomes FAILED and the task fails naming the host and the driver")
    func unreachableBMC() async throws {
        let lab = try await Self.bmcLab(hosts: 2)
        defer { lab.tearDown() }
        let slept = await lab.eventually(timeout: .seconds(30)) { try await Self.sleeping(lab).count == 1 }
        #expect(slept)
        let asleep = try #require(try await Self.sleeping(lab).first)
        let index = Int(asleep.dropFirst("host-".count))!
        // The sleeping host's BMC goes away.
        kill(pid_t(try lab.process("bmc-\(index)").pid), SIGKILL)
        #expect(try await lab.torpor(["vc", "define", "c"]).status == 0)
        #expect(
            try await lab.torpor(["vc", "add", "c", try lab.template(cores: 4), "--name", "c", "--count", "2"]).status
                == 0
        )
        let start = try await lab.torpor(["vc", "start", "c", "--json"])
        #expect(start.status == 1, "\(start)")
        let task = try #require(try JSONSerialization.jsonObject(with: Data(start.stdout.utf8)) as? [String: Any])
        let message = task["message"] as? String ?? ""
        #expect(message.contains("\(asleep) did not wake") && message.contains("IPMI"), "\(message)")
        #expect(try await lab.hosts()[asleep]?["state"] as? String == "FAILED")
    }

    static func nicLog(_ lab: LabUnderTest, host index: Int) -> String {
        (try? String(contentsOfFile: "\(lab.lab)/nic-\(index)/nic.log", encoding: .utf8)) ?? ""
    }

    @Test("hosts in network namespaces sleep and one wakes through a real magic packet across the bridge")
    func wakeOnLAN() async throws {
        let lab = try await LabUnderTest.up(
            hosts: 3,
            cores: 2,
            extra: ["--wol", "--idle-time", "2", "--reserved", "0", "--minimum-awake", "0"]
        )
        defer { lab.tearDown() }
        #expect(lab.manager.hasPrefix("10."), "the manager should listen on the lab's bridge: \(lab.manager)")
        // No reserve: all three go to sleep, and the reserve never wakes one behind the test's back.
        let slept = await lab.eventually(timeout: .seconds(30)) { try await Self.sleeping(lab).count == 3 }
        let asleep = try await Self.sleeping(lab)
        #expect(slept, "sleeping: \(asleep)")
        for host in asleep {
            let index = Int(host.dropFirst("host-".count))!
            // The agent stops a moment after its power command has answered.
            let down = await lab.eventually(timeout: .seconds(10)) {
                Self.nicLog(lab, host: index).contains("host asleep, waiting for a magic packet")
            }
            #expect(down, "\(host): \(Self.nicLog(lab, host: index))")
            let actions =
                (try? String(contentsOfFile: "\(lab.lab)/nic-\(index)/power-actions.log", encoding: .utf8)) ?? ""
            #expect(actions.contains("suspend-to-ram"), "\(host) went down without the agent's command: \(actions)")
        }

        // Three 1-core VMs on 2-core hosts: exactly two sleeping hosts wake.
        #expect(try await lab.torpor(["vc", "define", "w"]).status == 0)
        #expect(
            try await lab.torpor(["vc", "add", "w", try lab.template(cores: 1), "--name", "w", "--count", "3"]).status
                == 0
        )
        let start = try await lab.torpor(["vc", "start", "w"])
        #expect(start.status == 0, "\(start)")
        let stillAsleep = try await Self.sleeping(lab)
        #expect(stillAsleep.count == 1, "exactly two hosts should have woken: still asleep \(stillAsleep)")
        let woken = asleep.subtracting(stillAsleep)
        let gateway = lab.manager.split(separator: ":")[0]
        for host in woken {
            let index = Int(host.dropFirst("host-".count))!
            #expect(Self.nicLog(lab, host: index).contains("magic packet from \(gateway): agent started"))
        }
        #expect(lab.log("manager").contains("torpor.driver=Wake-on-LAN"))
        let hosts = try await lab.vms("w").values.compactMap { $0["host"] as? String }
        #expect(Set(hosts) == woken, "\(hosts)")
        let placed = try await woken.asyncMap {
            try await lab.domains(onAgent: Int($0.dropFirst("host-".count))!).count
        }
        #expect(placed.reduce(0, +) == 3)
        // The still sleeping host's NIC saw no packet for it.
        let sleeper = Int(try #require(stillAsleep.first).dropFirst("host-".count))!
        #expect(!Self.nicLog(lab, host: sleeper).contains("magic packet from"))
    }

    @Test("an unreachable BMC falls back to Wake-on-LAN; with both failing the host is FAILED and the task names both")
    func ipmiFallsBackToWakeOnLAN() async throws {
        let lab = try await LabUnderTest.up(
            hosts: 3,
            cores: 2,
            extra: [
                "--bmc", "--wol", "--idle-time", "2", "--reserved", "0", "--minimum-awake", "0", "--wakeup-time", "8",
            ],
            portsPerHost: 3
        )
        defer { lab.tearDown() }
        let slept = await lab.eventually(timeout: .seconds(30)) { try await Self.sleeping(lab).count == 3 }
        #expect(slept)
        let asleep = try await Self.sleeping(lab)
        // Every BMC goes away.
        for host in asleep {
            kill(pid_t(try lab.process("bmc-\(host.dropFirst("host-".count))").pid), SIGKILL)
        }
        #expect(try await lab.torpor(["vc", "define", "f"]).status == 0)
        #expect(
            try await lab.torpor(["vc", "add", "f", try lab.template(cores: 1), "--name", "f", "--count", "3"]).status
                == 0
        )
        let start = try await lab.torpor(["vc", "start", "f", "--json"])
        #expect(start.status == 0, "\(start)")
        let stillAsleep = try await Self.sleeping(lab)
        #expect(stillAsleep.count == 1, "still asleep: \(stillAsleep)")
        let manager = lab.log("manager")
        #expect(manager.contains("wake driver failed") && manager.contains("torpor.driver=IPMI"))
        for host in asleep.subtracting(stillAsleep) {
            #expect(Self.nicLog(lab, host: Int(host.dropFirst("host-".count))!).contains("agent started"), "\(host)")
        }

        // The last sleeping host loses its NIC too: nothing can wake it.
        let last = try #require(stillAsleep.first)
        let lastIndex = Int(last.dropFirst("host-".count))!
        kill(pid_t(try lab.process("nic-\(lastIndex)").pid), SIGKILL)
        #expect(
            try await lab.torpor(["vc", "add", "f", try lab.template(cores: 2), "--name", "g", "--count", "1"]).status
                == 0
        )
        let failed = try await lab.torpor(["vc", "start", "f", "--json"])
        #expect(failed.status == 1, "\(failed)")
        let task = try #require(try JSONSerialization.jsonObject(with: Data(failed.stdout.utf8)) as? [String: Any])
        let message = task["message"] as? String ?? ""
        #expect(
            message.contains("\(last) did not wake") && message.contains("IPMI") && message.contains("Wake-on-LAN"),
            "\(message)"
        )
        #expect(try await lab.hosts()[last]?["state"] as? String == "FAILED")
    }

    static func energy(_ lab: LabUnderTest) async throws -> [String: Any] {
        try #require(try await lab.json(["energy"]) as? [String: Any])
    }

    static func watts(_ lab: LabUnderTest, _ host: String) async throws -> Double? {
        try await lab.hosts()[host]?["watts"] as? Double
    }

    @Test(
        "measured power: BMC watts rise with VMs, kWh accumulate, sleeping hosts save against always-on; operator wake and sleep"
    )
    func measuredPowerAndOperatorOrders() async throws {
        // No reserve, so nothing wakes behind the test's back; a woken host stays up 30 s unless told otherwise.
        let lab = try await LabUnderTest.up(
            hosts: 3,
            cores: 4,
            // A woken agent may take a while to rejoin on a loaded machine: the operator's wake waits up to 120 s.
            extra: ["--bmc", "--idle-time", "2", "--reserved", "0", "--minimum-awake", "30", "--wakeup-time", "120"],
            portsPerHost: 3
        )
        defer { lab.tearDown() }
        let all: Set = ["host-1", "host-2", "host-3"]
        let slept = await lab.eventually(timeout: .seconds(30)) { try await Self.sleeping(lab) == all }
        #expect(slept)
        // The lab's power model: 100 W idle, 8 W asleep, read through each host's BMC.
        let standby = await lab.eventually(timeout: .seconds(15)) {
            try await all.asyncMap { try await Self.watts(lab, $0) }.allSatisfy { $0 == 8 }
        }
        #expect(standby)
        // Sleeping hosts use less than they did awake: the cluster saves against always-on.
        let saving = await lab.eventually(timeout: .seconds(15)) {
            let cluster = try await Self.energy(lab)["cluster"] as? [String: Any]
            return (cluster?["savedKilowattHours"] as? Double ?? 0) > 0
        }
        #expect(saving)
        let before = try await Self.energy(lab)
        let usedBefore = try #require((before["cluster"] as? [String: Any])?["usedKilowattHours"] as? Double)
        let text = try await lab.torpor(["energy"])
        #expect(text.status == 0 && text.stdout.contains("cluster: used") && text.stdout.contains("saved"), "\(text)")

        // Two VMs wake one host; its watts rise to idle plus 25 W per VM, and the cluster's energy keeps growing.
        #expect(try await lab.torpor(["vc", "define", "p"]).status == 0)
        #expect(
            try await lab.torpor(["vc", "add", "p", try lab.template(cores: 1), "--name", "p", "--count", "2"]).status
                == 0
        )
        #expect(try await lab.torpor(["vc", "start", "p"]).status == 0)
        let awake = try #require(try await lab.vms("p").values.compactMap { $0["host"] as? String }.first)
        let loaded = await lab.eventually(timeout: .seconds(15)) { try await Self.watts(lab, awake) == 150 }
        #expect(loaded)
        let after = try await Self.energy(lab)
        #expect(((after["cluster"] as? [String: Any])?["usedKilowattHours"] as? Double ?? 0) > usedBefore)
        let hosts = (after["hosts"] as? [[String: Any]]) ?? []
        let awakeRow = try #require(hosts.first { $0["hostId"] as? String == awake })
        #expect((awakeRow["usedKilowattHours"] as? Double ?? 0) > 0)

        // An operator may not put a host with VMs to sleep; the refusal names them.
        let refused = try await lab.torpor(["host", "sleep", awake])
        #expect(refused.status != 0 && refused.stderr.contains("runs 2 VMs"), "\(refused)")
        #expect(try await lab.hosts()[awake]?["state"] as? String == "ACTIVE")

        // An operator wakes a sleeping host through its BMC, then puts it back to sleep.
        let target = try #require(all.subtracting([awake]).sorted().first)
        let index = Int(target.dropFirst("host-".count))!
        let wake = try await lab.torpor(["host", "wake", target])
        #expect(wake.status == 0 && wake.stdout.contains("\(target) is awake"), "\(wake)")
        #expect(try await lab.hosts()[target]?["state"] as? String == "ACTIVE")
        #expect(try await Self.chassisPower(lab, host: index, hosts: 3) == "Chassis Power is on")
        let sleep = try await lab.torpor(["host", "sleep", target, "--action", "shutdown"])
        #expect(sleep.status == 0 && sleep.stdout.contains("going down (shutdown)"), "\(sleep)")
        let off = await lab.eventually(timeout: .seconds(15)) {
            try await Self.chassisPower(lab, host: index, hosts: 3) == "Chassis Power is off"
        }
        #expect(off)
        let actions = (try? String(contentsOfFile: "\(lab.lab)/bmc-\(index)/power-actions.log", encoding: .utf8)) ?? ""
        #expect(actions.contains("shutdown"), "\(actions)")
        #expect(try await lab.hosts()[target]?["state"] as? String == "SLEEPING")
        let unknown = try await lab.torpor(["host", "wake", "host-9"])
        #expect(unknown.status != 0 && unknown.stderr.contains("no host host-9"), "\(unknown)")
    }
}

extension Set {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
