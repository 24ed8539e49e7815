import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension KVMSuites {
    /// Consolidation end to end on real KVM with BMCs: `torpor-lab up --libvirt kvm --hosts 3 --bmc`, three tiny guests
    /// spread one per host, `torpor cluster consolidate` packs them onto fewer hosts by live migration, and the energy
    /// saver puts the freed host to sleep through its BMC, while every guest keeps running. Skipped, with the reason
    /// shown, without /dev/kvm, root or `ip`; TORPOR_REQUIRE_E2E fails it instead.
    @Suite(
        .serialized,
        .enabled(if: EndToEnd.runs(LabUnderTest.kvmLabProblem), EndToEnd.reason(LabUnderTest.kvmLabProblem)),
        .timeLimit(.minutes(15))
    )
    struct ConsolidationOnKVMTests {
        /// Every domain each lab host's libvirtd lists, name → state ("running", "paused", …), host-1 first.
        static func domains(_ lab: LabUnderTest) async throws -> [[String: String]] {
            var hosts: [[String: String]] = []
            for host in try lab.libvirtHosts() {
                let output = try await ProcessRunner.run(["virsh", "-q", "-c", host.socketURI, "list", "--all"])
                var domains: [String: String] = [:]
                for line in output.stdout.split(separator: "\n") {
                    let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                    guard fields.count >= 3 else { continue }
                    domains[String(fields[1])] = fields[2...].joined(separator: " ")
                }
                hosts.append(domains)
            }
            return hosts
        }

        @Test("VMs spread over 3 KVM hosts are consolidated onto fewer; the freed host sleeps through its BMC")
        func consolidateAndSleep() async throws {
            try EndToEnd.require(LabUnderTest.kvmLabProblem)
            // Round-robin spreads the guests; hosts stay up 40 s idle, long enough to start them on every host.
            let lab = try await LabUnderTest.kvm(
                hosts: 3,
                extra: [
                    "--bmc", "--policy", "round-robin", "--idle-time", "40", "--reserved", "0", "--minimum-awake", "0",
                ],
                portsPerHost: 3
            )
            defer { lab.tearDown() }
            try #require(try await lab.torpor(["vc", "define", "c"]).status == 0)
            let add = try await lab.torpor(
                ["vc", "add", "c", try lab.guestTemplate("c-template"), "--name", "c", "--count", "3"]
            )
            try #require(add.status == 0, "\(add)")
            let start = try await lab.torpor(["vc", "start", "c", "--json"], timeout: .seconds(240))
            try #require(start.status == 0, "\(start)\n\(MigrationThroughManagerTests.logs(lab))")
            let vms = try await lab.vms("c")
            let spread = Set(vms.values.compactMap { $0["host"] as? String })
            try #require(vms.count == 3 && spread.count == 3, "the guests should start one per host: \(vms)")
            let names = vms.keys.sorted()

            // From now on, every guest runs on one host at every look (the source and destination both list it, paused,
            // for the moment of a switch-over; never two running copies, never none).
            // The hosts are read one after another, so a switch-over between two reads can show a guest on both or on
            // neither for that one look: only what two looks in a row show is a violation.
            let violations = Mutex<[String]>([])
            let watcher = Task {
                var suspect: [String: [String]] = [:]
                while !Task.isCancelled {
                    if let hosts = try? await Self.domains(lab) {
                        for name in names {
                            let states = hosts.map { $0[name] ?? "absent" }
                            let running = states.filter { $0 == "running" }.count
                            let present = states.filter { $0 == "running" || $0 == "paused" }.count
                            guard running > 1 || present == 0 else {
                                suspect[name] = nil
                                continue
                            }
                            if let earlier = suspect[name] {
                                violations.withLock { $0.append("\(name): \(earlier) then \(states)") }
                            }
                            suspect[name] = states
                        }
                    }
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            defer { watcher.cancel() }

            // The estimates need samples: ask until the plan frees a host, then run it.
            var plan: [String: Any] = [:]
            let planned = await lab.eventually(timeout: .seconds(120)) {
                let dryRun = try await lab.torpor(["cluster", "consolidate", "--dry-run", "--json"])
                plan = (try? JSONSerialization.jsonObject(with: Data(dryRun.stdout.utf8)) as? [String: Any]) ?? [:]
                return !((plan["hostsFreed"] as? [Any]) ?? []).isEmpty
            }
            print("ConsolidationOnKVMTests: dry run: \(plan)")
            try #require(planned, "no plan frees a host: \(plan)\n\(MigrationThroughManagerTests.logs(lab))")
            // Relocation (on by default) may already be emptying an underloaded host: a run is refused while its
            // migration goes on, and afterwards may find nothing left to free, the guests being on fewer hosts already.
            var run = try await lab.torpor(["cluster", "consolidate", "--json"], timeout: .seconds(120))
            let ran = await lab.eventually(timeout: .seconds(180)) {
                if run.status == 0 { return true }
                let refusal = (try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]) ?? [:]
                if ((refusal["reason"] as? String) ?? "").contains("still run") {
                    run = try await lab.torpor(["cluster", "consolidate", "--json"], timeout: .seconds(120))
                    return run.status == 0
                }
                return Set(try await lab.vms("c").values.compactMap { $0["host"] as? String }).count < 3
            }
            print("ConsolidationOnKVMTests: consolidate: \(run.stdout)")
            #expect(ran, "\(run)")

            // The guests end on fewer hosts; a freed host goes to sleep, its chassis off.
            var placed: [String: [String: Any]] = [:]
            let packed = await lab.eventually(timeout: .seconds(300)) {
                placed = try await lab.vms("c")
                let hosts = Set(placed.values.compactMap { $0["host"] as? String })
                return hosts.count < 3 && placed.values.allSatisfy { $0["state"] as? String == "running" }
            }
            #expect(packed, "the guests were not consolidated: \(placed)\n\(MigrationThroughManagerTests.logs(lab))")
            let used = Set(placed.values.compactMap { $0["host"] as? String })
            let freed = Set(["host-1", "host-2", "host-3"]).subtracting(used)
            let slept = await lab.eventually(timeout: .seconds(180)) {
                try await !EnergyLabTests.sleeping(lab).isDisjoint(with: freed)
            }
            let sleeping = try await EnergyLabTests.sleeping(lab)
            #expect(slept, "no freed host went to sleep: freed \(freed), sleeping \(sleeping)")
            for host in sleeping.intersection(freed) {
                let index = Int(host.dropFirst("host-".count))!
                let off = await lab.eventually(timeout: .seconds(60)) {
                    try await EnergyLabTests.chassisPower(lab, host: index, hosts: 3) == "Chassis Power is off"
                }
                #expect(off, "\(host) sleeps but its chassis is not off")
            }
            watcher.cancel()
            _ = await watcher.value
            #expect(
                violations.withLock { $0 }.isEmpty,
                "a guest did not run exactly once: \(violations.withLock { $0 })"
            )
            // Each guest runs once, not paused, where the manager places it. Relocation may still be packing (two
            // underloaded hosts are emptied onto one): wait until the manager's places and the hosts agree.
            var final: [[String: String]] = []
            _ = await lab.eventually(timeout: .seconds(240)) {
                placed = try await lab.vms("c")
                final = try await Self.domains(lab)
                return names.allSatisfy { name in
                    guard let host = placed[name]?["host"] as? String, let index = Int(host.dropFirst("host-".count))
                    else { return false }
                    return final.indices.allSatisfy { final[$0][name] == ($0 == index - 1 ? "running" : nil) }
                }
            }
            for name in names {
                let host = try #require(placed[name]?["host"] as? String)
                let index = Int(host.dropFirst("host-".count))!
                let states = final.map { $0[name] ?? "absent" }
                var expected = ["absent", "absent", "absent"]
                expected[index - 1] = "running"
                #expect(states == expected, "\(name) per host: \(states), the manager places it on \(host)")
            }
        }
    }
}
