import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Reservations end to end through `torpor-lab` on libvirt's test driver (docs/reservations.md): the real CLI,
/// manager and agent, and a reservation that ends while the manager is stopped.
@Suite("reservations in a lab", .serialized)
struct ReservationLabTests {
    @Test func aReservationThatEndsWhileTheManagerIsStoppedIsHandledAfterItsRestart() async throws {
        let lab = try await LabUnderTest.up(hosts: 1, cores: 4)
        defer { lab.tearDown() }
        func managerLog() -> String { String(lab.log("manager").suffix(3000)) }
        #expect(try await lab.torpor(["vc", "define", "held"]).status == 0)
        let added = try await lab.torpor(["vc", "add", "held", try lab.template(cores: 4), "--name", "held-1"])
        try #require(added.status == 0, "\(added)")
        let started = try await lab.torpor(["vc", "start", "held"])
        try #require(started.status == 0, "\(started)\n\(managerLog())")

        let end = Date() + 20
        let reserved = try await lab.torpor(["vc", "reserve", "held", "--until", Self.rfc3339(end)])
        #expect(reserved.status == 0, "\(reserved)")
        #expect(reserved.stdout.contains("reserved until "), "\(reserved)")
        let info = try #require(try await lab.json(["vc", "info", "held"]) as? [String: Any])
        let reservation = try #require(info["reservation"] as? [String: Any], "\(info)")
        #expect(reservation["expired"] as? Bool == false, "\(reservation)")
        // Bad ends are refused with their reason, and change nothing.
        let past = try await lab.torpor(["vc", "renew", "held", "--until", "2001-01-01T00:00:00Z"])
        #expect(past.status != 0 && past.stderr.contains("is not in the future"), "\(past)")
        let garbled = try await lab.torpor(["vc", "renew", "held", "--until", "soon"])
        #expect(garbled.status == 64 && garbled.stderr.contains("RFC 3339"), "\(garbled)")

        // The manager stops before the end and starts again after it, on a quicker retry so the stop it orders at
        // once (before the agent has rejoined) is soon tried again.
        let (pid, config, _) = try lab.process("manager")
        let yaml = try String(contentsOfFile: config, encoding: .utf8)
        try (yaml + "\nreservations:\n  check_interval: 1s\n  retry_interval: 2s\n").write(
            toFile: config,
            atomically: true,
            encoding: .utf8
        )
        kill(pid_t(pid), SIGTERM)
        let stopped = await lab.eventually(timeout: .seconds(60)) { !TorporLabTests.isAlive(pid) }
        try #require(stopped, "the manager did not stop")
        #expect(try await lab.domains(onAgent: 1)["held-1"] == "running")
        let wait = end.timeIntervalSinceNow + 2
        if wait > 0 { try await Task.sleep(for: .milliseconds(Int(wait * 1000))) }
        let manager = try lab.restart("manager")
        defer { manager.kill() }

        let ended = await lab.eventually(timeout: .seconds(120)) {
            let info = try #require(try await lab.json(["vc", "info", "held"]) as? [String: Any])
            return (info["reservation"] as? [String: Any])?["stoppedAt"] != nil
        }
        try #require(ended, "the reservation was not ended after the restart\n\(managerLog())")
        let vms = try await lab.vms("held")
        #expect(vms["held-1"]?["state"] as? String == "stopped", "\(vms)")
        #expect(vms["held-1"]?["host"] as? String == "", "\(vms)")
        #expect(try await lab.domains(onAgent: 1)["held-1"] == nil)
        let refused = try await lab.torpor(["vc", "start", "held"])
        #expect(refused.status != 0 && refused.stderr.contains("reserve it again"), "\(refused)")

        // Its capacity is free: another cluster's VM as large as the host starts there.
        #expect(try await lab.torpor(["vc", "define", "next"]).status == 0)
        let next = try await lab.torpor(["vc", "add", "next", try lab.template(cores: 4, name: "n"), "--name", "next-1"])
        try #require(next.status == 0, "\(next)")
        let startedNext = try await lab.torpor(["vc", "start", "next"])
        #expect(startedNext.status == 0, "\(startedNext)\n\(managerLog())")
        #expect(try await lab.vms("next")["next-1"]?["host"] as? String == "host-1")
    }

    static func rfc3339(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
