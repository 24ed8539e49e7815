import Foundation
import Testing

/// `torpor vm migrate` end to end through `torpor-lab` on libvirt's test driver: the real CLI, manager and agents.
/// The test driver cannot migrate, so a migration the manager accepts fails at the source's libvirt: the test checks
/// the whole path (the agents' announced URIs, validation, the task, its outcome naming the host), and that the VM
/// stays where it was. Real migrations between two libvirtds are the KVM lab's (`MigrationEndToEndTests`).
@Suite("migrations through the manager in a lab", .serialized)
struct MigrationManagerLabTests {
    @Test func aMigrationRefusedByLibvirtEndsFailedNamingTheHostAndTheVMStays() async throws {
        let lab = try await LabUnderTest.up(hosts: 2, cores: 4)
        defer { lab.tearDown() }
        #expect(try await lab.torpor(["vc", "define", "web"]).status == 0)
        let added = try await lab.torpor(["vc", "add", "web", try lab.template(cores: 1), "--name", "web-1"])
        try #require(added.status == 0, "\(added)")
        #expect(try await lab.torpor(["vc", "start", "web"]).status == 0)
        #expect(try await lab.vms("web")["web-1"]?["host"] as? String == "host-1")

        // Refused by the manager, nothing recorded: an unknown host, the VM's own host.
        let unknown = try await lab.torpor(["vm", "migrate", "web-1", "--to", "host-9"])
        #expect(unknown.status == 1, "\(unknown)")
        #expect(unknown.stderr.contains("no host 'host-9'"), "\(unknown)")
        let same = try await lab.torpor(["vm", "migrate", "web-1", "--to", "host-1"])
        #expect(same.status == 1, "\(same)")
        #expect(same.stderr.contains("web-1 already runs on host-1"), "\(same)")
        let badMethod = try await lab.torpor(["vm", "migrate", "web-1", "--to", "host-2", "--method", "offline"])
        #expect(badMethod.status == 64, "\(badMethod)")

        // Accepted (host-2's agent announced its URI), then failed by the test driver at host-1.
        let migrated = try await lab.torpor(["vm", "migrate", "web-1", "--to", "host-2", "--json"])
        #expect(migrated.status == 1, "\(migrated)")
        let task = try #require(try JSONSerialization.jsonObject(with: Data(migrated.stdout.utf8)) as? [String: Any])
        #expect(task["kind"] as? String == "migrate")
        #expect(task["state"] as? String == "failed", "\(task)")
        #expect((task["message"] as? String)?.contains("host-1") == true, "\(task)")
        let migration = try #require(task["migration"] as? [String: Any], "\(task)")
        #expect(migration["source"] as? String == "host-1")
        #expect(migration["destination"] as? String == "host-2")
        #expect(migration["phase"] as? String == "failed", "\(migration)")
        #expect(migration["reason"] as? String == "operator")

        let vm = try await lab.vms("web")["web-1"]
        #expect(vm?["host"] as? String == "host-1", "\(String(describing: vm))")
        #expect(vm?["state"] as? String == "running", "\(String(describing: vm))")
        let domains = try await lab.domains(onAgent: 1)
        #expect(domains["web-1"] != nil, "\(domains)")

        // `torpor task show` shows the migration; a cancel finds nothing to cancel.
        let id = try #require(task["id"] as? String)
        let shown = try await lab.torpor(["task", "show", id])
        #expect(shown.stdout.contains("migration host-1 → host-2 (live, operator): failed"), "\(shown)")
        let cancel = try await lab.torpor(["vm", "migrate-cancel", "web-1"])
        #expect(cancel.status == 1, "\(cancel)")
        #expect(cancel.stderr.contains("web-1 is not migrating"), "\(cancel)")
    }
}
