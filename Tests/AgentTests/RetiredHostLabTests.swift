import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `torpor host remove` against a real manager and agents (`torpor-lab up`, libvirt's test driver): refused while
/// the host's agent runs; once the agent is gone and the host FAILED, the host is forgotten, and a manager restarted
/// on the same database does not list it again.
@Suite("retiring a host, in a lab", .serialized)
struct RetiredHostLabTests {
    @Test("a host whose agent is gone for good is removed, and stays removed across a manager restart")
    func aRetiredHostIsForgotten() async throws {
        let lab = try await LabUnderTest.up(hosts: 2, cores: 2)
        defer { lab.tearDown() }

        let refused = try await lab.torpor(["host", "remove", "host-2"])
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stderr.contains("host-2 is connected: its agent runs"), "\(refused)")

        // The machine is retired: its agent stops, the manager marks it FAILED after the heartbeat timeout.
        kill(pid_t(try lab.process("agent-2").pid), SIGKILL)
        let failed = await lab.eventually(timeout: .seconds(30)) {
            try await lab.hosts()["host-2"]?["state"] as? String == "FAILED"
        }
        let listed = try await lab.hosts()
        #expect(failed, "\(listed)")

        let removed = try await lab.torpor(["host", "remove", "host-2"])
        #expect(removed.status == 0, "\(removed)")
        #expect(removed.stdout.hasPrefix("host-2 removed: no longer listed, counted or woken"), "\(removed)")
        #expect(try await lab.hosts().keys.sorted() == ["host-1"])
        let again = try await lab.torpor(["host", "remove", "host-2"])
        #expect(again.status == 1 && again.stderr.contains("no host host-2"), "\(again)")

        // A restart on the same database: host-1 rejoins, host-2 is not restored from the state.
        let manager = try await EnergyLabTests.restartManager(lab)
        defer { manager.kill() }
        let rejoined = await lab.eventually(timeout: .seconds(60)) {
            try await lab.hosts()["host-1"]?["connected"] as? Bool == true
        }
        #expect(rejoined, "\(EnergyLabTests.restartedManagerLog(lab).suffix(3000))")
        #expect(try await lab.hosts().keys.sorted() == ["host-1"])
    }
}
