import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `torpor-lab up --ha --managers 2 --group-managers 2` on libvirt's test driver: a real etcd, two managers (one
/// elected group leader), two `torpor-manager --role group-manager` processes and four agents. The leader deals the
/// hosts to the group managers; orders reach the agents through them. Kill -9 a group manager: its hosts join the
/// other within the heartbeat timeout (5 s in the lab), none is marked FAILED, their VMs keep running untouched, and
/// orders reach them through the new group manager. Restart it: the leader moves hosts back to it one at a time
/// until each holds two (rebalancing), the agents and their VMs untouched. Then kill -9 the leader: the group managers
/// link to the next leader with their agents, and nothing moves. Then SIGSTOP that leader (a silent one, as behind a
/// partition): the group managers give it up within their heartbeat timeout and link to the next.
@Suite(
    "group managers in processes of their own, in a lab",
    .serialized,
    .enabled(if: EtcdForLabs.runs, "SKIPPED end-to-end: needs /usr/bin/etcd (scripts/install-deps: etcd-server)")
)
struct GroupManagerLabTests {
    /// The lab's heartbeat timeout (torpor-lab's manager.yaml).
    static let heartbeatTimeout = Duration.seconds(5)

    /// The hosts group manager `name` holds with their agents connected, as `agentctl manager` asks it.
    static func held(by name: String, lab: LabUnderTest) async -> Set<String>? {
        guard let process = try? lab.process(name), let address = address(of: process.config) else { return nil }
        guard
            let output = try? await ProcessRunner.run(
                [try KVMLab.product("agentctl"), "manager", "--manager", address, "--json"],
                environment: lab.cliEnvironment,
                timeout: .seconds(10)
            ), output.status == 0,
            let status = try? JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
        else { return nil }
        let hosts = (status["hosts"] as? [[String: Any]]) ?? []
        return Set(hosts.filter { $0["connected"] as? Bool == true }.compactMap { $0["hostId"] as? String })
    }

    /// When agent `index`'s manager link last connected (`agentctl status`'s manager since), by the agent's clock.
    static func managerLinkSince(agent index: Int, lab: LabUnderTest) async -> Date? {
        guard
            let output = try? await ProcessRunner.run(
                [try KVMLab.product("agentctl"), "status", "--agent", lab.agentAddress(index), "--json"],
                environment: lab.cliEnvironment,
                timeout: .seconds(20)
            ), output.status == 0,
            let status = try? JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any],
            let manager = status["manager"] as? [String: Any], manager["state"] as? String == "connected",
            let since = manager["since"] as? String
        else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: since)
    }

    /// The `listen:` of a group manager's configuration file.
    static func address(of config: String) -> String? {
        let text = (try? String(contentsOfFile: config, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").first { $0.hasPrefix("listen: ") }.map { String($0.dropFirst(8)) }
    }

    @Test("kill -9 a group manager: its hosts join the other within the heartbeat timeout, their VMs kept running")
    func groupManagerKilled() async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: EtcdForLabs.path),
            "TORPOR_REQUIRE_E2E=1 but \(EtcdForLabs.path) is missing"
        )
        let lab = try await LabUnderTest.up(
            hosts: 4,
            cores: 16,
            // VMs on every host, so that the hosts that move have some.
            policy: "round-robin",
            extra: ["--ha", "--managers", "3", "--group-managers", "2", "--host-memory-mib", "8192"],
            portsPerHost: 3,
            timeout: .seconds(120)
        )
        defer { lab.tearDown() }
        let allHosts: Set<String> = ["host-1", "host-2", "host-3", "host-4"]

        // Dealt round robin: two hosts each, every host with one group manager.
        var first: Set<String> = []
        var second: Set<String> = []
        let dealt = await lab.eventually(timeout: .seconds(30)) {
            first = await Self.held(by: "group-manager-1", lab: lab) ?? []
            second = await Self.held(by: "group-manager-2", lab: lab) ?? []
            return first.count == 2 && second.count == 2 && first.union(second) == allHosts
        }
        #expect(dealt, "group-manager-1 holds \(first.sorted()), group-manager-2 \(second.sorted())")
        // `torpor tree` draws each host under the group manager holding it.
        let tree = try #require(try await lab.json(["tree"]) as? [String: Any])
        let drawn = ((tree["groupManagers"] as? [[String: Any]]) ?? []).reduce(into: [String: Set<String>]()) {
            result,
            manager in
            let hosts = ((manager["hosts"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
            result[manager["id"] as? String ?? "?"] = Set(hosts)
        }
        #expect(drawn == ["lab-gm-1": first, "lab-gm-2": second], "\(tree)")
        // The leader sees every host through them.
        let hosts = try await lab.hosts()
        #expect(Set(hosts.keys) == allHosts, "\(hosts.keys.sorted())")
        #expect(hosts.values.allSatisfy { $0["connected"] as? Bool == true }, "\(hosts)")

        // VMs on every host, started through the group managers.
        #expect(try await lab.torpor(["vc", "define", "spread"]).status == 0)
        let template = try lab.template(cores: 1, mib: 256)
        for index in 1...8 {
            let added = try await lab.torpor(["vc", "add", "spread", template, "--name", "vm-\(index)"])
            try #require(added.status == 0, "\(added)")
        }
        let started = try await lab.torpor(["vc", "start", "spread"])
        try #require(started.status == 0, "\(started)")
        var runningBefore: [String: Int] = [:]
        for agent in 1...4 {
            for (name, state) in try await lab.domains(onAgent: agent) where state == "running" {
                runningBefore[name] = agent
            }
        }
        try #require(runningBefore.count == 8, "\(runningBefore)")
        #expect(Set(runningBefore.values) == [1, 2, 3, 4], "not on every host: \(runningBefore)")
        // The leader's estimates come from the group managers' reports, which after the first send only the
        // samples taken since: the leader still holds each VM's whole window (15; the agents report every 2 s).
        var estimated: [String: Int] = [:]
        let windows = await lab.eventually(timeout: .seconds(90)) {
            for name in runningBefore.keys where estimated[name] != 15 {
                let info = try #require(try await lab.json(["vm", "info", name]) as? [String: Any])
                estimated[name] = (info["estimate"] as? [String: Any])?["samples"] as? Int ?? 0
            }
            return estimated.count == 8 && estimated.values.allSatisfy { $0 == 15 }
        }
        #expect(windows, "samples the leader holds per VM: \(estimated)")
        let agentPids = (1...4).map { lab.agentPids($0) }

        // Kill -9 the first group manager: its two hosts must join the second.
        let victim = try lab.process("group-manager-1")
        let orphans = first
        let killedAt = ContinuousClock.now
        let killedAtWall = Date()
        kill(pid_t(victim.pid), SIGKILL)
        var rejoinedAt: ContinuousClock.Instant?
        let rejoined = await lab.eventually(timeout: .seconds(60)) {
            guard let held = await Self.held(by: "group-manager-2", lab: lab), held == allHosts else { return false }
            rejoinedAt = .now
            return true
        }
        let seen = rejoinedAt.map { killedAt.duration(to: $0) }
        // When the moved agents joined, by their own clocks (`agentctl status`: the link connected since): polling
        // through agentctl adds its own start and TLS handshake, over a second on a loaded machine.
        var joinedAt: [String: Date] = [:]
        for host in orphans {
            guard let index = Int(host.dropFirst("host-".count)) else { continue }
            joinedAt[host] = await Self.managerLinkSince(agent: index, lab: lab)
        }
        let took =
            joinedAt.count == orphans.count ? joinedAt.values.max().map { $0.timeIntervalSince(killedAtWall) } : nil
        print(
            "kill -9 of group-manager-1 (pid \(victim.pid), holding \(orphans.sorted())): every host with "
                + "group-manager-2 after \(took.map { "\($0) s by the agents' clocks" } ?? "?"), seen by polling after "
                + "\(seen.map { "\($0)" } ?? "never") (heartbeat timeout \(Self.heartbeatTimeout))"
        )
        let heldAfter = await Self.held(by: "group-manager-2", lab: lab) ?? []
        #expect(rejoined, "group-manager-2 holds \(heldAfter.sorted())")
        #expect(took.map { $0 < Self.heartbeatTimeout / .seconds(1) } ?? false, "\(joinedAt)")

        // No host was taken for failed: none FAILED, no VM unreachable, every host connected to the leader's eyes.
        let leaderView = await lab.eventually(timeout: .seconds(30)) {
            let hosts = try await lab.hosts()
            return hosts.count == 4
                && hosts.values.allSatisfy { $0["connected"] as? Bool == true && $0["state"] as? String == "ACTIVE" }
        }
        let hostsAfter = (try? await lab.hosts()) ?? [:]
        #expect(leaderView, "\(hostsAfter)")
        let states = try await lab.vms("spread").mapValues { $0["state"] as? String ?? "" }
        #expect(states.count == 8 && states.values.allSatisfy { $0 == "running" }, "\(states)")
        #expect(!lab.log("manager").contains("host failed") && !lab.log("manager-2").contains("host failed"))

        // The agents never restarted and their VMs ran on where they were.
        #expect((1...4).map { lab.agentPids($0) } == agentPids, "an agent restarted")
        for (name, agent) in runningBefore {
            #expect(try await lab.domains(onAgent: agent)[name] == "running", "\(name) on host-\(agent)")
        }

        // Orders still reach a host that moved: suspend a VM there through the leader and the new group manager.
        let moved = try #require(
            runningBefore.first { orphans.contains("host-\($0.value)") },
            "no VM on \(orphans.sorted())"
        )
        let stopped = try await lab.torpor(["vc", "suspend", "spread", moved.key])
        #expect(stopped.status == 0, "\(stopped)")
        let gone = await lab.eventually(timeout: .seconds(30)) {
            try await lab.domains(onAgent: moved.value)[moved.key] != "running"
        }
        #expect(gone, "\(moved.key) still runs on host-\(moved.value)")

        // group-manager-1 back: the leader moves hosts to it, one at a time (rebalance_interval 3 s in the lab, once
        // it has been linked for two heartbeat timeouts), until round robin's spread holds again. The agents move
        // without restarting; their VMs keep running where they were; no host is taken for failed.
        let restarted = try lab.restart("group-manager-1", arguments: ["--log", "stderr"])
        let restartedAt = ContinuousClock.now
        var heldByFirst: Set<String> = []
        var heldBySecond: Set<String> = []
        let rebalanced = await lab.eventually(timeout: .seconds(90)) {
            heldByFirst = await Self.held(by: "group-manager-1", lab: lab) ?? []
            heldBySecond = await Self.held(by: "group-manager-2", lab: lab) ?? []
            return heldByFirst.count == 2 && heldBySecond.count == 2 && heldByFirst.union(heldBySecond) == allHosts
        }
        #expect(
            rebalanced,
            "restarted group-manager-1 (pid \(restarted.pid)) holds \(heldByFirst.sorted()), group-manager-2 \(heldBySecond.sorted())"
        )
        print("group-manager-1 restarted: two hosts each again after \(restartedAt.duration(to: .now))")
        let leaderLog = lab.log("manager") + lab.log("manager-2") + lab.log("manager-3")
        #expect(leaderLog.contains("moved a host to balance the group managers"))
        #expect(!leaderLog.contains("host failed"))
        let statesAfterRebalancing = try await lab.vms("spread").mapValues { $0["state"] as? String ?? "" }
        #expect(statesAfterRebalancing.values.filter { $0 == "running" }.count == 7, "\(statesAfterRebalancing)")
        #expect((1...4).map { lab.agentPids($0) } == agentPids, "an agent restarted")
        for (name, agent) in runningBefore where name != moved.key {
            #expect(try await lab.domains(onAgent: agent)[name] == "running", "\(name) on host-\(agent)")
        }
        let heldBeforeFailover = (first: heldByFirst, second: heldBySecond)

        // Kill -9 the leader: the group managers link to the next one and keep their agents; no host moves or
        // fails, and orders reach them through the new leader.
        let oldLeader = try #require(await FailoverLabTests.leader(lab.manager, within: .seconds(30)), "nobody leads")
        let leaderProcess = try lab.process(FailoverLabTests.processName(ofManager: oldLeader))
        kill(pid_t(leaderProcess.pid), SIGKILL)
        let newLeader = await FailoverLabTests.leader(lab.manager, within: .seconds(60))
        #expect(newLeader != nil && newLeader != oldLeader, "\(oldLeader) killed, \(newLeader ?? "nobody") leads")
        let relinked = await lab.eventually(timeout: .seconds(60)) {
            let hosts = try await lab.hosts()
            return hosts.count == 4
                && hosts.values.allSatisfy { $0["connected"] as? Bool == true && $0["state"] as? String == "ACTIVE" }
        }
        let hostsAfterFailover = (try? await lab.hosts()) ?? [:]
        #expect(relinked, "\(hostsAfterFailover)")
        #expect(await Self.held(by: "group-manager-1", lab: lab) == heldBeforeFailover.first)
        #expect(await Self.held(by: "group-manager-2", lab: lab) == heldBeforeFailover.second)
        if let newLeader {
            #expect(lab.log(FailoverLabTests.processName(ofManager: newLeader)).contains("group manager linked"))
        }
        let resumed = try await lab.torpor(["vc", "resume", "spread", moved.key])
        #expect(resumed.status == 0, "\(resumed)")
        let runningAgain = await lab.eventually(timeout: .seconds(30)) {
            try await lab.domains(onAgent: moved.value)[moved.key] == "running"
        }
        #expect(runningAgain, "\(moved.key) not running again on host-\(moved.value)")
        #expect((1...4).map { lab.agentPids($0) } == agentPids, "an agent restarted")
        for (name, agent) in runningBefore {
            #expect(try await lab.domains(onAgent: agent)[name] == "running", "\(name) on host-\(agent)")
        }
        // Stop the new leader without a word (SIGSTOP: its connections stay open, as in a partition): another
        // leads once its lease expires, and the group manager, hearing nothing, gives it up and links to that one.
        let stoppedLeader = try #require(newLeader)
        let frozen = try lab.process(FailoverLabTests.processName(ofManager: stoppedLeader))
        kill(pid_t(frozen.pid), SIGSTOP)
        defer { kill(pid_t(frozen.pid), SIGCONT) }
        let third = await FailoverLabTests.leader(lab.manager, within: .seconds(90))
        #expect(third != nil && third != stoppedLeader && third != oldLeader, "\(third ?? "nobody") leads")
        let relinkedAgain = await lab.eventually(timeout: .seconds(90)) {
            let hosts = try await lab.hosts()
            return hosts.count == 4
                && hosts.values.allSatisfy { $0["connected"] as? Bool == true && $0["state"] as? String == "ACTIVE" }
        }
        let hostsAfterStop = (try? await lab.hosts()) ?? [:]
        #expect(relinkedAgain, "\(hostsAfterStop)")
        #expect(lab.log("group-manager-2").contains("the group leader is silent"))
        let suspendedAgain = try await lab.torpor(["vc", "suspend", "spread", moved.key])
        #expect(suspendedAgain.status == 0, "\(suspendedAgain)")
        #expect((1...4).map { lab.agentPids($0) } == agentPids, "an agent restarted")

        // The links carried only what the leaders take (heartbeats, reports, events).
        for manager in ["manager", "manager-2", "manager-3"] {
            #expect(!lab.log(manager).contains("unexpected message from group manager"), "\(manager).log")
        }
    }
}
