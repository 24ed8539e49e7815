import Foundation
import Testing

extension KVMSuites {
    /// A host whose libvirtd stops, end to end on `torpor-lab up --libvirt kvm --hosts 2`: its agent tells the
    /// manager (HypervisorStatus), `torpor hosts` shows it, a start goes to the other host without trying it and a
    /// migration there is refused, and once libvirtd answers again a VM migrates there. Skipped, with the reason
    /// shown, without /dev/kvm, root or `ip`; TORPOR_REQUIRE_E2E fails it instead.
    @Suite(
        .serialized,
        .enabled(if: EndToEnd.runs(LabUnderTest.kvmLabProblem), EndToEnd.reason(LabUnderTest.kvmLabProblem)),
        .timeLimit(.minutes(10))
    )
    struct HypervisorDownLabTests {
        /// `torpor hosts --json`'s row of `hostID`.
        static func row(_ lab: LabUnderTest, _ hostID: String) async throws -> [String: Any] {
            let hosts = try #require(try await lab.json(["hosts"]) as? [String: Any])
            let rows = try #require(hosts["hosts"] as? [[String: Any]])
            return try #require(rows.first { $0["hostId"] as? String == hostID }, "\(rows)")
        }

        /// Starts a one-guest cluster `name`; returns the guest's name, the host it runs on, and the start's output.
        static func startGuest(
            _ lab: LabUnderTest,
            _ name: String
        ) async throws -> (vm: String, host: String?, output: String) {
            try #require(try await lab.torpor(["vc", "define", name]).status == 0)
            let add = try await lab.torpor([
                "vc", "add", name, try lab.guestTemplate("\(name)-template"), "--name", name,
            ])
            try #require(add.status == 0, "\(add)")
            let start = try await lab.torpor(["vc", "start", name, "--json"], timeout: .seconds(240))
            try #require(start.status == 0, "\(start)\n\(MigrationThroughManagerTests.logs(lab))")
            let vms = try await lab.vms(name)
            let (vm, row) = try #require(vms.first, "\(vms)")
            #expect(vms.count == 1 && row["state"] as? String == "running", "\(vms)")
            return (vm, row["host"] as? String, start.stdout)
        }

        @Test("libvirtd stopped on a host: shown by torpor hosts, no start or migration there; back when it answers")
        func aHostWhoseLibvirtdStoppedGetsNoStartUntilItAnswers() async throws {
            try EndToEnd.require(LabUnderTest.kvmLabProblem)
            // First fit: host-1 first while it can take a VM.
            let lab = try await LabUnderTest.kvm(hosts: 2)
            defer { lab.tearDown() }
            let daemon = try lab.libvirtHosts()[0]
            #expect(try await Self.row(lab, daemon.hostId)["hypervisorAnswers"] as? Bool == true)

            try await ProcessRunner.check([KVMLab.script, "stop", daemon.base], timeout: .seconds(120))
            var row: [String: Any] = [:]
            let shown = await lab.eventually(timeout: .seconds(60)) {
                row = try await Self.row(lab, daemon.hostId)
                return row["hypervisorAnswers"] as? Bool == false
            }
            #expect(shown, "\(row)\n\(MigrationThroughManagerTests.logs(lab))")
            let problem = row["hypervisorProblem"] as? String ?? ""
            #expect(problem.contains("the connection to libvirt was lost"), "\(row)")
            // Still ACTIVE and connected: the agent is up, only its libvirtd is not.
            #expect(row["state"] as? String == "ACTIVE" && row["connected"] as? Bool == true, "\(row)")
            let table = try await lab.torpor(["hosts"])
            #expect(table.stdout.contains("ACTIVE (no libvirtd)"), "\(table.stdout)")
            #expect(table.stdout.contains("\(daemon.hostId)'s libvirtd does not answer"), "\(table.stdout)")

            // The start goes to host-2 at once: host-1 is not tried (no "placed again"). Nor is a migration there.
            let guest = try await Self.startGuest(lab, "a")
            #expect(guest.host == "host-2", "\(guest.output)")
            #expect(!guest.output.contains("placed again"), "\(guest.output)")
            let refused = try await lab.torpor(["vm", "migrate", guest.vm, "--to", daemon.hostId, "--json"])
            #expect(refused.status != 0, "\(refused)")
            #expect(
                refused.stdout.contains("\(daemon.hostId)'s libvirtd does not answer ("),
                "\(refused)"
            )

            // libvirtd back (in the host's namespace, as torpor-lab started it): the agent's next round says so.
            var environment = ProcessInfo.processInfo.environment
            environment["LAB_LIBVIRTD_NETNS"] = daemon.namespace
            environment["LAB_LIBVIRTD_TCP"] = daemon.address
            let restart = try await ProcessRunner.run(
                [KVMLab.script, "start", daemon.base, daemon.hostId],
                environment: environment,
                timeout: .seconds(150)
            )
            try #require(restart.status == 0, "\(restart)")
            let back = await lab.eventually(timeout: .seconds(60)) {
                row = try await Self.row(lab, daemon.hostId)
                return row["hypervisorAnswers"] as? Bool == true && row["hypervisorProblem"] == nil
            }
            #expect(back, "\(row)\n\(MigrationThroughManagerTests.logs(lab))")
            // And takes VMs again: the guest migrates there.
            let moved = try await lab.torpor(
                ["vm", "migrate", guest.vm, "--to", daemon.hostId, "--json", "--wait-timeout", "300"],
                timeout: .seconds(320)
            )
            #expect(moved.status == 0, "\(moved)\n\(MigrationThroughManagerTests.logs(lab))")
            try await lab.expectRunningExactlyOnce(guest.vm, on: 1)
            let log = (try? String(contentsOfFile: "\(lab.lab)/manager.log", encoding: .utf8)) ?? ""
            #expect(log.contains("libvirtd does not answer"), "the manager logged the host's word")
            #expect(log.contains("libvirtd answers again"))
        }
    }
}
