import Foundation
import Testing

extension KVMSuites {
    /// `torpor host drain` on real KVM: `torpor-lab up --libvirt kvm --hosts 2` (each host's libvirtd in its own
    /// namespace on the lab's bridge). Two tiny guests started through the manager on host-1; draining host-1 cordons
    /// it and live-migrates both to host-2, chosen by the manager, each running exactly once afterwards; a start
    /// while it is cordoned does not use it; uncordoned, host-1 takes a new VM and a migration without a destination. Skipped, with the reason shown,
    /// without /dev/kvm, root or `ip`; TORPOR_REQUIRE_E2E fails it instead.
    @Suite(
        .serialized,
        .enabled(if: EndToEnd.runs(LabUnderTest.kvmLabProblem), EndToEnd.reason(LabUnderTest.kvmLabProblem)),
        .timeLimit(.minutes(15))
    )
    struct KVMDrainLabTests {
        typealias Through = MigrationThroughManagerTests

        @Test("drain host-1: its guests move live to host-2 as the manager chooses; cordoned, it gets no new VM")
        func drainMovesEveryGuestAndCordonKeepsTheHostEmpty() async throws {
            try EndToEnd.require(LabUnderTest.kvmLabProblem)
            let lab = try await LabUnderTest.kvm(hosts: 2, extra: ["--no-relocation"])
            defer { lab.tearDown() }

            // Both on host-1 (first fit), in one cluster.
            try #require(try await lab.torpor(["vc", "define", "d"]).status == 0)
            for name in ["d-1", "d-2"] {
                let add = try await lab.torpor(
                    ["vc", "add", "d", try lab.guestTemplate("\(name)-template"), "--name", name]
                )
                try #require(add.status == 0, "\(add)")
            }
            let start = try await lab.torpor(["vc", "start", "d", "--json"], timeout: .seconds(180))
            try #require(start.status == 0, "\(start)\n\(Through.logs(lab))")
            for name in ["d-1", "d-2"] {
                try await lab.expectRunningExactlyOnce(name, on: 1)
            }

            let drain = try await lab.torpor(
                ["host", "drain", "host-1", "--reason", "lab drain", "--json", "--wait-timeout", "400"],
                timeout: .seconds(420)
            )
            print("KVMDrainLabTests: \(drain.stdout)")
            #expect(drain.status == 0, "\(drain)\n\(Through.logs(lab))")
            let report = try #require(
                try JSONSerialization.jsonObject(with: Data(drain.stdout.utf8)) as? [String: Any],
                "\(drain)"
            )
            let rows = (report["vms"] as? [[String: Any]]) ?? []
            #expect(rows.map { $0["vm"] as? String } == ["d-1", "d-2"], "\(report)")
            #expect(rows.allSatisfy { $0["outcome"] as? String == "migrated" && $0["host"] as? String == "host-2" })
            for name in ["d-1", "d-2"] {
                try await lab.expectRunningExactlyOnce(name, on: 2)
                let placed = await lab.eventually(timeout: .seconds(60)) {
                    try await Through.vm(name, in: lab)["host"] as? String == "host-2"
                }
                #expect(placed, "\(name) is not recorded on host-2")
            }
            let hosts = try await lab.hosts()
            #expect(hosts["host-1"]?["cordoned"] as? Bool == true, "\(hosts)")
            #expect(hosts["host-1"]?["cordonReason"] as? String == "lab drain", "\(hosts)")

            // Cordoned: a new VM finds no room though host-1 is empty (the lab's hosts have the machine's two cores,
            // and host-2's hold d-1 and d-2); the refusal does not even name host-1.
            try #require(try await lab.torpor(["vc", "define", "late"]).status == 0)
            let add = try await lab.torpor([
                "vc", "add", "late", try lab.guestTemplate("late-template"), "--name", "late",
            ])
            try #require(add.status == 0, "\(add)")
            let refused = try await lab.torpor(["vc", "start", "late", "--json"], timeout: .seconds(180))
            #expect(refused.status == 1, "\(refused)")
            #expect(refused.stdout.contains("most free: host-2 with 0"), "\(refused)")
            #expect(try await lab.guestStates("late") == ["absent", "absent"])

            // Back in service: host-1 takes the new VM, and a migration without a destination goes there too.
            let uncordon = try await lab.torpor(["host", "uncordon", "host-1"])
            #expect(uncordon.status == 0 && uncordon.stdout.contains("host-1 is back in service"), "\(uncordon)")
            let late = try await lab.torpor(["vc", "start", "late", "--json"], timeout: .seconds(180))
            #expect(late.status == 0, "\(late)")
            try await lab.expectRunningExactlyOnce("late", on: 1)
            let back = try await lab.torpor(
                ["vm", "migrate", "d-1", "--json", "--wait-timeout", "400"],
                timeout: .seconds(420)
            )
            #expect(back.status == 0, "\(back)\n\(Through.logs(lab))")
            try await lab.expectRunningExactlyOnce("d-1", on: 1)
            try await lab.expectRunningExactlyOnce("d-2", on: 2)
        }
    }
}
