import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A host that dies while no manager runs (`torpor-lab up`, libvirt's test driver): the restarted manager, once
/// agents have had time to come back, lists it FAILED and its VM `unreachable`, instead of leaving the host out of
/// `torpor hosts` and the VM `running` in its state for good. The operator then confirms the machine off with
/// `torpor host remove --confirm-off`, and the VM starts on the host that is left.
@Suite("hosts not back after a manager restart, in a lab", .serialized)
struct HostsNotBackLabTests {
    @Test("a host lost while the manager was down is FAILED after the restart, its VM unreachable")
    func aHostLostWhileTheManagerWasDownIsFailed() async throws {
        let lab = try await LabUnderTest.up(hosts: 2, cores: 4, policy: "round-robin")
        defer { lab.tearDown() }
        // Two 2-core VMs: one per host.
        #expect(try await lab.torpor(["vc", "define", "w"]).status == 0)
        let added = try await lab.torpor(["vc", "add", "w", try lab.template(cores: 2), "--name", "w", "--count", "2"])
        #expect(added.status == 0, "\(added)")
        let start = try await lab.torpor(["vc", "start", "w", "--json"])
        try #require(start.status == 0, "\(start)")
        let placed = try await lab.vms("w").compactMapValues { $0["host"] as? String }
        try #require(Set(placed.values) == ["host-1", "host-2"], "\(placed)")
        let lostVM = try #require(placed.first { $0.value == "host-2" }?.key)
        let keptVM = try #require(placed.first { $0.value == "host-1" }?.key)

        // The manager stops; host-2 dies meanwhile; the manager starts again on the same database.
        let agent2 = try lab.process("agent-2").pid
        let manager = try await EnergyLabTests.restartManager(lab) { kill(pid_t(agent2), SIGKILL) }
        let restartedAt = ContinuousClock.now
        defer { manager.kill() }

        var hosts: [String: [String: Any]] = [:]
        var vms: [String: [String: Any]] = [:]
        let lost = await lab.eventually(timeout: .seconds(120)) {
            hosts = try await lab.hosts()
            vms = try await lab.vms("w")
            return hosts["host-2"]?["state"] as? String == "FAILED" && vms[lostVM]?["state"] as? String == "unreachable"
        }
        print("host-2 listed FAILED \(restartedAt.duration(to: .now)) after the manager's restart")
        #expect(lost, "hosts: \(hosts); VMs: \(vms); log: \(EnergyLabTests.restartedManagerLog(lab).suffix(3000))")
        #expect(hosts["host-2"]?["connected"] as? Bool == false)
        #expect(hosts["host-1"]?["state"] as? String == "ACTIVE")
        #expect(vms[keptVM]?["state"] as? String == "running")
        #expect(EnergyLabTests.restartedManagerLog(lab).contains("host not back since the manager started: FAILED"))

        // Retired: its VM keeps it until the operator confirms the machine off; then the VM starts on host-1.
        let refused = try await lab.torpor(["host", "remove", "host-2"])
        #expect(refused.status == 1 && refused.stderr.contains("\(lostVM) (unreachable)"), "\(refused)")
        #expect(refused.stderr.contains("--confirm-off"), "\(refused)")
        let removed = try await lab.torpor(["host", "remove", "host-2", "--confirm-off"])
        #expect(
            removed.status == 0 && removed.stdout.contains("\(lostVM), recorded on it, is stopped now"),
            "\(removed)"
        )
        #expect(try await lab.hosts().keys.sorted() == ["host-1"])
        let again = try await lab.torpor(["vc", "start", "w", "--json"])
        #expect(again.status == 0, "\(again)")
        let now = try await lab.vms("w")
        #expect(now[lostVM]?["host"] as? String == "host-1" && now[lostVM]?["state"] as? String == "running", "\(now)")
        #expect(try await lab.domains(onAgent: 1)[lostVM] == "running")
    }
}
