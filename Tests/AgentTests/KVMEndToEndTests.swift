import Foundation
import TestSupport
import Testing

extension KVMSuites {
    /// End to end with a real libvirtd and KVM: a private libvirtd (scripts/lab-libvirtd, docs/lab.md) runs one tiny guest
    /// whose boot sector drives its virtio NIC (Fixtures/kvm/nic-boot.S); the real torpor-agent binary watches it and
    /// agentctl reads the agent's report. Both tests share the one daemon and guest (KVMLab). Skipped, with the reason
    /// shown, only when /dev/kvm cannot be opened; anything else missing (libvirtd, QEMU, a built agent) fails.
    /// Needs root (it mounts, creates namespaces and taps). About 20 s: libvirtd's cold start ~9 s, the guest ~4 s.
    @Suite(
        .serialized,
        .enabled(if: EndToEnd.runs(KVMLab.kvmProblem), EndToEnd.reason(KVMLab.kvmProblem)),
        .timeLimit(.minutes(3))
    )
    struct KVMEndToEndTests {
        static let users: Set<String> = [
            "agentReportsRealCPUAndTapCounters", "agentRestartLeavesTheGuestRunning", "libvirtdRestartIsRiddenOut",
        ]

        @Test func agentReportsRealCPUAndTapCounters() async throws {
            try EndToEnd.require(KVMLab.kvmProblem)
            try await KVMLab.shared.withGuest(user: "agentReportsRealCPUAndTapCounters", users: Self.users) {
                lab,
                guest in
                let clock = ContinuousClock()
                let started = clock.now
                let agent = try AgentUnderTest(
                    arguments: ["--libvirt-uri", try await lab.uri, "--sample-interval", "1s", "--host-id", "kvm-e2e"],
                    logDirectory: try await lab.directory,
                    label: "agent-report"
                )
                defer { agent.process.kill() }

                func ready(_ status: AgentUnderTest.Status) -> Bool {
                    guard let vm = status.vms.first(where: { $0.name == guest.name }), let latest = vm.latest,
                        let nic = vm.nics?.first(where: { $0.name == guest.tap })
                    else { return false }
                    // Rates need two samples; the guest sends ~1 KB/s, so its tx rate is above zero from the second on.
                    return latest.cpuCores > 0 && nic.rxBytes > 0 && nic.txBytes > 0 && (nic.txBytesPerSecond ?? 0) > 0
                }
                let seen = try await agent.waitForStatus(timeout: .seconds(30), until: ready)
                let reportTime = started.duration(to: clock.now)
                let status = try #require(seen, "agentctl status never answered:\n\(agent.process.stderr)")
                print(
                    "KVMEndToEndTests: agentctl status --json (\(reportTime) after the agent started):\n\(status.json)"
                )

                let vm = try #require(
                    status.status.vms.first { $0.name == guest.name },
                    "the guest is missing from the agent's report"
                )
                #expect(vm.uuid.lowercased() == guest.uuid.lowercased())
                #expect(vm.state == "running")
                let latest = try #require(vm.latest, "no sample of the guest yet")
                #expect(latest.cpuCores > 0, "the guest's CPU rate from the real libvirtd")
                let nic = try #require(vm.nics?.first { $0.name == guest.tap }, "no NIC named \(guest.tap)")
                // The guest's driver sends a frame every timer tick (its tx) and the harness sent it 20 frames (its rx).
                #expect(nic.rxBytes + nic.txBytes > 0)
                #expect(nic.txBytes > 0, "the guest's own frames")
                #expect(nic.rxBytes >= 20 * KVMLab.hostFrameBytes, "the 20 frames the host sent into the tap")
                #expect((nic.txBytesPerSecond ?? 0) > 0, "the guest keeps sending")
                #expect((latest.networkTxBytesPerSecond ?? 0) > 0, "the VM's network rate counts its NIC")

                // The agent's figures are libvirt's: compare with virsh's view of the same tap.
                let virsh = try await lab.interfaceStats(guest)
                #expect(nic.rxBytes <= virsh["rx_bytes", default: 0])
                #expect(nic.txBytes <= virsh["tx_bytes", default: 0])

                // The ring buffer keeps one sample a second: wait for a second one.
                var samples = try await agent.samples(guest.name)
                let deadline = clock.now + .seconds(10)
                while samples.samples.samples.count < 2, clock.now < deadline {
                    try await Task.sleep(for: .milliseconds(500))
                    samples = try await agent.samples(guest.name)
                }
                print("KVMEndToEndTests: agentctl samples \(guest.name) --json:\n\(samples.json)")
                #expect(samples.samples.samples.count >= 2)

                let exit = await agent.stop()
                #expect(exit == 0, "torpor-agent's exit status after SIGTERM:\n\(agent.process.stderr)")
            }
        }

        @Test func agentRestartLeavesTheGuestRunning() async throws {
            try EndToEnd.require(KVMLab.kvmProblem)
            try await KVMLab.shared.withGuest(user: "agentRestartLeavesTheGuestRunning", users: Self.users) {
                lab,
                guest in
                let uri = try await lab.uri
                let logs = try await lab.directory
                func isRunning(_ status: AgentUnderTest.Status) -> Bool {
                    status.vms.contains { $0.name == guest.name && $0.state == "running" }
                }

                let first = try AgentUnderTest(
                    arguments: ["--libvirt-uri", uri, "--sample-interval", "1s"],
                    logDirectory: logs,
                    label: "agent-first"
                )
                defer { first.process.kill() }
                let before = try await first.waitForStatus(timeout: .seconds(30), until: isRunning)
                #expect(before.map { isRunning($0.status) } == true, "the first agent lists the guest as running")

                let exit = await first.stop()
                #expect(exit == 0, "torpor-agent's exit status after SIGTERM:\n\(first.process.stderr)")
                let state = try await lab.virsh("domstate", guest.name).stdout
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(state == "running", "the agent's stop must leave its VMs running")

                let second = try AgentUnderTest(
                    arguments: ["--libvirt-uri", uri, "--sample-interval", "1s"],
                    logDirectory: logs,
                    label: "agent-second"
                )
                defer { second.process.kill() }
                let after = try await second.waitForStatus(timeout: .seconds(30), until: isRunning)
                let status = try #require(after, "the restarted agent never answered:\n\(second.process.stderr)")
                print("KVMEndToEndTests: agentctl status --json after the agent's restart:\n\(status.json)")
                let vm = try #require(
                    status.status.vms.first { $0.name == guest.name },
                    "the restarted agent lost the guest"
                )
                #expect(vm.state == "running")
                #expect(vm.uuid.lowercased() == guest.uuid.lowercased())
                await second.stop()
            }
        }

        /// `systemctl restart libvirtd` on a host (a libvirt upgrade does it): the guest keeps running, and the agent
        /// opens its connection again instead of failing every round from then on (it did: no more reports, every
        /// command refused, until someone restarted the agent).
        @Test func libvirtdRestartIsRiddenOut() async throws {
            try EndToEnd.require(KVMLab.kvmProblem)
            try await KVMLab.shared.withGuest(user: "libvirtdRestartIsRiddenOut", users: Self.users) { lab, guest in
                let logs = try await lab.directory
                let agent = try AgentUnderTest(
                    arguments: ["--libvirt-uri", try await lab.uri, "--sample-interval", "1s"],
                    logDirectory: logs,
                    label: "agent-libvirtd-restart"
                )
                defer { agent.process.kill() }
                func state(_ status: AgentUnderTest.Status) -> String? {
                    status.vms.first { $0.name == guest.name }?.state
                }
                let before = try await agent.waitForStatus(timeout: .seconds(30)) { state($0) == "running" }
                try #require(before.map { state($0.status) } == "running", "\(agent.process.stderr)")
                let domainID = try await lab.virsh("domid", guest.name).stdout

                try await ProcessRunner.check([KVMLab.script, "restart", logs.path], timeout: .seconds(90))
                // The same guest, never stopped: libvirtd took it over.
                #expect(try await lab.virsh("domstate", guest.name).stdout.contains("running"))
                #expect(try await lab.virsh("domid", guest.name).stdout == domainID)

                // The agent opens its connection again and reports fresh samples of the guest.
                let clock = ContinuousClock()
                let deadline = clock.now + .seconds(30)
                while !agent.process.stderr.contains("libvirt connection lost and opened again"), clock.now < deadline {
                    try await Task.sleep(for: .milliseconds(250))
                }
                #expect(
                    agent.process.stderr.contains("libvirt connection lost and opened again"),
                    "\(agent.process.stderr.suffix(3000))"
                )
                let reopened = try await agent.status()
                let time = reopened.status.vms.first { $0.name == guest.name }?.latest?.time
                func isFresh(_ status: AgentUnderTest.Status) -> Bool {
                    let latest = status.vms.first { $0.name == guest.name }?.latest?.time
                    return latest != nil && latest != time
                }
                let fresh = try await agent.waitForStatus(timeout: .seconds(15), until: isFresh)
                #expect(
                    fresh.map { isFresh($0.status) } == true,
                    "no new sample after the reopen:\n\(agent.process.stderr.suffix(3000))"
                )

                // Commands work on the reopened connection.
                let suspend = try await agent.agentctl("vm", "suspend", guest.name)
                #expect(suspend.succeeded, "\(suspend)")
                let paused = try await agent.waitForStatus(timeout: .seconds(15)) { state($0) == "paused" }
                #expect(paused.map { state($0.status) } == "paused", "the agent never saw the guest paused")
                let resume = try await agent.agentctl("vm", "resume", guest.name)
                #expect(resume.succeeded, "\(resume)")
                let running = try await agent.waitForStatus(timeout: .seconds(15)) { state($0) == "running" }
                #expect(running.map { state($0.status) } == "running", "the agent never saw the guest running again")
                #expect(await agent.stop() == 0, "\(agent.process.stderr.suffix(3000))")
            }
        }

        /// libvirtd stopped for good under a running agent: commands are answered `hypervisorUnavailable` (nothing
        /// ran, so the manager places the VM elsewhere); once libvirtd is back, the agent's next call reopens the
        /// connection. A daemon of its own, without guests, so the shared one's guest is not touched.
        /// `agentctl status --json`'s host object.
        static func statusHost(_ agent: AgentUnderTest) async throws -> [String: Any] {
            let output = try await agent.agentctl("status")
            let status = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
            return try #require(status?["host"] as? [String: Any], "\(output)")
        }

        /// True as soon as `condition` holds (errors count as not yet), false after `timeout`.
        static func eventually(timeout: Duration, _ condition: () async throws -> Bool) async throws -> Bool {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if (try? await condition()) == true { return true }
                try await Task.sleep(for: .milliseconds(500))
            }
            return try await condition()
        }

        @Test func libvirtdDownIsAnsweredHypervisorUnavailable() async throws {
            try EndToEnd.require(KVMLab.kvmProblem)
            let base = FileManager.default.temporaryDirectory
                .appendingPathComponent("\(KVMLab.basePrefix)down-\(getpid())-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
            LabExitGuard.shared.register(base: base.path)
            defer {
                let null = URL(fileURLWithPath: "/dev/null")
                if let stop = try? BackgroundProcess([KVMLab.script, "stop", base.path], stdout: null, stderr: null),
                    !stop.waitForExitBlocking(timeout: .seconds(60))
                {
                    stop.kill()
                }
                try? FileManager.default.removeItem(at: base)
                LabExitGuard.shared.unregister(base: base.path)
            }
            let uri = try await ProcessRunner.check([KVMLab.script, "start", base.path], timeout: .seconds(90)).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let agent = try AgentUnderTest(
                arguments: ["--libvirt-uri", uri, "--sample-interval", "1s"],
                logDirectory: base,
                label: "agent-libvirtd-down"
            )
            defer { agent.process.kill() }
            _ = try await agent.waitForStatus(timeout: .seconds(30)) { _ in true }

            try await ProcessRunner.check([KVMLab.script, "stop", base.path], timeout: .seconds(60))
            // The next sampling round finds libvirtd gone: agentctl status says so.
            var host: [String: Any] = [:]
            let noticed = try await Self.eventually(timeout: .seconds(30)) {
                host = try await Self.statusHost(agent)
                return host["hypervisorAnswers"] as? Bool == false
            }
            #expect(noticed, "\(host)")
            #expect((host["hypervisorProblem"] as? String)?.contains("the connection to libvirt was lost") == true)
            let refused = try await agent.agentctl("vm", "suspend", "web-1")
            #expect(!refused.succeeded)
            #expect(refused.stdout.contains("hypervisorUnavailable"), "\(refused)")
            #expect(refused.stdout.contains("the connection to libvirt was lost"), "\(refused)")

            try await ProcessRunner.check([KVMLab.script, "start", base.path], timeout: .seconds(90))
            let answered = try await agent.agentctl("vm", "suspend", "web-1")
            #expect(answered.stdout.contains("notFound"), "libvirtd answers again: no such domain\n\(answered)")
            let answering = try await Self.eventually(timeout: .seconds(30)) {
                host = try await Self.statusHost(agent)
                return host["hypervisorAnswers"] as? Bool == true && host["hypervisorProblem"] == nil
            }
            #expect(answering, "\(host)")
            #expect(await agent.stop() == 0, "\(agent.process.stderr.suffix(3000))")
        }
    }
}
