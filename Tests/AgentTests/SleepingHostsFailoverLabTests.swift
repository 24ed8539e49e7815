import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `torpor-lab up --ha --managers 2 --group-managers 1 --bmc` (or `--wol`): managers that fail over through a real
/// etcd, a group manager process holding the agents, and a real ipmi_sim BMC per host (or each host in a network
/// namespace with a NIC that starts its agent on a magic packet). The energy saver puts idle hosts to sleep; kill -9
/// the leader: the next one knows them asleep from the state it restores from etcd (no group manager holds a
/// sleeping host, so nothing else would tell it), and wakes one through IPMI (or a magic packet across the bridge)
/// when a start needs it; the woken agent joins the group manager and its VMs start there.
@Suite(
    "sleeping hosts across a leader failover, in a lab",
    .serialized,
    .enabled(if: EtcdForLabs.runs, "SKIPPED end-to-end: needs /usr/bin/etcd (scripts/install-deps: etcd-server)")
)
struct SleepingHostsFailoverLabTests {
    static let hosts = 3
    static let managers = 2
    static let groupManagers = 1

    /// `ipmitool … chassis power status` against host `index`'s BMC: with --ha its ports follow the other managers',
    /// etcd's and the group managers'.
    static func chassisPower(_ lab: LabUnderTest, host index: Int) async throws -> String {
        let port = lab.basePort + managers + 1 + groupManagers + hosts + index
        let output = try await ProcessRunner.run([
            "ipmitool", "-I", "lanplus", "-C", "3", "-H", "127.0.0.1", "-p", "\(port)", "-U", "admin", "-f",
            "\(lab.lab)/bmc-\(index)/password", "chassis", "power", "status",
        ])
        return output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// How the lab's sleeping hosts are woken.
    enum WakeDriver: String, CaseIterable, CustomTestStringConvertible {
        case ipmi, wakeOnLAN

        var testDescription: String { self == .ipmi ? "IPMI" : "Wake-on-LAN" }
        var labOption: String { self == .ipmi ? "--bmc" : "--wol" }
        /// What the manager's log names the driver.
        var logName: String { self == .ipmi ? "IPMI" : "Wake-on-LAN" }
    }

    /// Whether host `index` is down: its BMC reports power off, or its NIC stopped its agent and waits.
    static func isDown(_ lab: LabUnderTest, host index: Int, _ wake: WakeDriver) async throws -> Bool {
        switch wake {
        case .ipmi: try await chassisPower(lab, host: index) == "Chassis Power is off"
        case .wakeOnLAN:
            EnergyLabTests.nicLog(lab, host: index).hasSuffix("host asleep, waiting for a magic packet\n")
        }
    }

    @Test(
        "kill -9 the leader while hosts sleep: the next knows them asleep and wakes one for a start",
        arguments: WakeDriver.allCases
    )
    func sleepingHostsOutliveALeaderFailover(wake: WakeDriver) async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: EtcdForLabs.path),
            "TORPOR_REQUIRE_E2E=1 but \(EtcdForLabs.path) is missing"
        )
        let lab = try await LabUnderTest.up(
            hosts: Self.hosts,
            cores: 4,
            extra: [
                "--ha", "--managers", "\(Self.managers)", "--group-managers", "\(Self.groupManagers)", wake.labOption,
                "--idle-time", "2", "--reserved", "1", "--minimum-awake", "0",
            ],
            // Agents, the other manager, etcd's two ports, the group manager and two ports per BMC.
            portsPerHost: 5,
            timeout: .seconds(120)
        )
        defer { lab.tearDown() }

        let slept = await lab.eventually(timeout: .seconds(60)) { try await EnergyLabTests.sleeping(lab).count == 2 }
        let asleep = try await EnergyLabTests.sleeping(lab)
        try #require(slept, "sleeping: \(asleep)")
        for host in asleep {
            let index = Int(host.dropFirst("host-".count))!
            let down = await lab.eventually(timeout: .seconds(30)) { try await Self.isDown(lab, host: index, wake) }
            try #require(down, "\(host) did not go down")
        }
        let awake = try #require(Set((1...Self.hosts).map { "host-\($0)" }).subtracting(asleep).first)
        let security = try FailoverLabTests.security(of: lab)

        let oldLeader = try #require(
            await FailoverLabTests.leader(lab.manager, within: .seconds(30), security: security),
            "nobody leads"
        )
        let oldProcess = try lab.process(FailoverLabTests.processName(ofManager: oldLeader))
        // Long enough asleep that a heartbeat age counted from the failover would show.
        try await Task.sleep(for: .seconds(3))
        let killedAt = ContinuousClock.now
        kill(pid_t(oldProcess.pid), SIGKILL)
        let newLeader = await FailoverLabTests.leader(lab.manager, within: .seconds(60), security: security)
        #expect(newLeader != nil && newLeader != oldLeader, "\(oldLeader) killed, \(newLeader ?? "nobody") leads")
        let leaderName = FailoverLabTests.processName(ofManager: try #require(newLeader))
        print("kill -9 of leader \(oldLeader): \(newLeader ?? "nobody") leads after \(killedAt.duration(to: .now))")

        // No agent of a sleeping host can rejoin: the new leader lists them asleep from the state in etcd, last
        // heard of when they went down, not at the failover.
        var rows: [String: [String: Any]] = [:]
        let listed = await lab.eventually(timeout: .seconds(60)) {
            rows = try await lab.hosts()
            return try await EnergyLabTests.sleeping(lab) == asleep
                && rows[awake]?["state"] as? String == "ACTIVE" && rows[awake]?["connected"] as? Bool == true
        }
        #expect(listed, "after the failover: \(rows); log: \(lab.log(leaderName).suffix(3000))")
        for host in asleep {
            let silent = rows[host]?["millisecondsSinceHeartbeat"] as? Int ?? 0
            #expect(silent >= 3000, "\(host) last heard of \(silent) ms ago")
        }
        #expect(lab.log(leaderName).contains("host asleep since before the start: tracked as asleep"))

        // Eight cores where the awake host has four: one sleeping host is woken through its driver, its agent joins
        // the group manager, and the VMs start on both hosts.
        #expect(try await lab.torpor(["vc", "define", "big"]).status == 0)
        let added = try await lab.torpor([
            "vc", "add", "big", try lab.template(cores: 4), "--name", "b", "--count", "2",
        ])
        #expect(added.status == 0, "\(added)")
        let start = try await lab.torpor(["vc", "start", "big", "--json"])
        #expect(start.status == 0, "\(start); log: \(lab.log(leaderName).suffix(3000))")
        let placed = try await lab.vms("big").compactMapValues { $0["host"] as? String }
        #expect(Set(placed.values).count == 2 && Set(placed.values).contains(awake), "\(placed)")
        let woken = try #require(Set(placed.values).subtracting([awake]).first)
        #expect(asleep.contains(woken))
        #expect(try await EnergyLabTests.sleeping(lab) == asleep.subtracting([woken]))
        let wokenIndex = Int(woken.dropFirst("host-".count))!
        switch wake {
        case .ipmi: #expect(try await Self.chassisPower(lab, host: wokenIndex) == "Chassis Power is on")
        case .wakeOnLAN:
            let nic = EnergyLabTests.nicLog(lab, host: wokenIndex)
            #expect(nic.contains(": magic packet from "), "\(nic)")
        }
        #expect(lab.log(leaderName).contains("torpor.driver=\(wake.logName) torpor.host=\(woken)"))
        let held = await GroupManagerLabTests.held(by: "group-manager-1", lab: lab) ?? []
        #expect(held == [awake, woken], "group-manager-1 holds \(held.sorted())")
        for (name, host) in placed {
            let index = Int(host.dropFirst("host-".count))!
            #expect(try await lab.domains(onAgent: index)[name] == "running", "\(name) on \(host)")
        }
    }
}
