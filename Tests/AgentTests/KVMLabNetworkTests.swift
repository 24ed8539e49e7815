import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension KVMSuites {
    /// `torpor-lab up --libvirt kvm --hosts N` end to end: each host's libvirtd in the host's own network namespace,
    /// joined by the lab's bridge, so a migration between hosts crosses it; with `--bmc` each host's power takes its
    /// libvirtd down and brings it back; `torpor-lab down` removes daemons, namespaces and bridge, also after `lab up`
    /// was killed half-way. Skipped, with the reason shown, without /dev/kvm, root or `ip`; TORPOR_REQUIRE_E2E fails
    /// it instead. Each test pays two libvirtd cold starts (~9 s each) and boots one tiny guest.
    @Suite(
        .serialized,
        .enabled(if: EndToEnd.runs(LabUnderTest.kvmLabProblem), EndToEnd.reason(LabUnderTest.kvmLabProblem)),
        .timeLimit(.minutes(10))
    )
    struct KVMLabNetworkTests {
        static func namespaces() async throws -> Set<String> {
            let output = try await ProcessRunner.check(["ip", "netns", "list"])
            return Set(
                output.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
            )
        }

        static func linkExists(_ name: String) async throws -> Bool {
            try await ProcessRunner.run(["ip", "link", "show", name]).succeeded
        }

        /// `agentctl vm migrate GUEST --to URI --json` against lab agent `index`: the outcome's JSON.
        static func migrate(
            _ guest: String,
            in lab: LabUnderTest,
            agent index: Int,
            to uri: String
        ) async throws -> [String: Any] {
            let output = try await ProcessRunner.run(
                [
                    try KVMLab.product("agentctl"), "vm", "migrate", guest, "--to", uri, "--agent",
                    lab.agentAddress(index),
                    "--json", "--timeout", "10", "--wait", "150",
                ],
                timeout: .seconds(170)
            )
            let outcome = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
            return try #require(outcome, "agentctl vm migrate printed no JSON:\n\(output)")
        }

        /// Everything of the lab outside its directory is gone: namespaces, bridge, libvirtds and their processes.
        static func expectNothingLeft(
            _ namespaces: [String],
            bridge: String,
            bases: [String],
            sourceLocation: SourceLocation = #_sourceLocation
        ) async throws {
            let left = try await Self.namespaces().intersection(namespaces)
            #expect(left.isEmpty, "namespaces left: \(left)", sourceLocation: sourceLocation)
            #expect(try await !Self.linkExists(bridge), "bridge \(bridge) left", sourceLocation: sourceLocation)
            for base in bases {
                let status = try await ProcessRunner.run([KVMLab.script, "status", base], timeout: .seconds(30))
                #expect(!status.succeeded, "the libvirtd of \(base) still answers", sourceLocation: sourceLocation)
                let processes = KVMVirtualClusterTests.namespaceProcesses(base)
                #expect(processes.isEmpty, "processes left of \(base): \(processes)", sourceLocation: sourceLocation)
            }
        }

        @Test("--libvirt kvm --hosts 2: a guest migrates across the lab's bridge and back; lab down removes it all")
        func migrationsCrossTheBridge() async throws {
            try EndToEnd.require(LabUnderTest.kvmLabProblem)
            let lab = try await LabUnderTest.kvm(hosts: 2)
            defer { lab.tearDown() }
            let hosts = try lab.libvirtHosts()
            try #require(hosts.count == 2)
            let network = try #require(lab.labState()?["network"] as? [String: Any])
            let bridge = try #require(network["bridge"] as? String)
            #expect(network["namespaces"] as? [String] == hosts.map(\.namespace), "\(network)")

            for (index, host) in zip(1..., hosts) {
                // The daemon lives in its host's namespace and answers over TCP on the bridge.
                let netns = try await ProcessRunner.check([KVMLab.script, "netns", host.base])
                #expect(netns.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "/run/netns/\(host.namespace)")
                let version = try await ProcessRunner.run(["virsh", "-c", host.migrationURI, "version"])
                #expect(version.succeeded, "\(version)")
                let config = try String(contentsOfFile: "\(lab.lab)/agent-\(index).yaml", encoding: .utf8)
                #expect(config.contains("libvirt_uri: \"\(host.socketURI)\""), "\(config)")
                #expect(config.contains("destination_uri: \"\(host.migrationURI)\""), "\(config)")
            }

            // A guest started behind the manager's back on host-1, adopted from the inventory. (Where the manager places
            // it after a migration it did not order is MigrationThroughManagerTests' matter, not the lab's.)
            try await lab.startGuest("lab-mig", on: 1)
            let adopted = await lab.eventually(timeout: .seconds(60)) {
                try await lab.vms("adopted")["lab-mig"]?["host"] as? String == "host-1"
            }
            #expect(adopted, "the manager never placed lab-mig on host-1: \(lab.log("manager").suffix(2000))")

            for (from, to) in [(1, 2), (2, 1)] {
                let before = try lab.bytesSentToHost(to)
                let outcome = try await Self.migrate("lab-mig", in: lab, agent: from, to: hosts[to - 1].migrationURI)
                print("KVMLabNetworkTests: host-\(from) → host-\(to): \(outcome)")
                #expect(outcome["ok"] as? Bool == true, "\(outcome)")
                try await lab.expectRunningExactlyOnce("lab-mig", on: to)
                // The guest's memory crossed the bridge into the destination's namespace (64 MiB of mostly zero pages
                // and the firmware: well over 256 KiB).
                let crossed = try lab.bytesSentToHost(to) - before
                #expect(crossed > 256 * 1024, "only \(crossed) bytes went to host-\(to) over the bridge")
            }

            let pids = KVMVirtualClusterTests.labPids(URL(fileURLWithPath: lab.lab))
            let down = try await ProcessRunner.run(
                [try KVMLab.product("torpor-lab"), "down", "--dir", lab.lab],
                timeout: .seconds(240)
            )
            #expect(down.status == 0, "\(down)")
            #expect(down.stdout.contains("2 libvirtds)"), "\(down)")
            let alive = pids.filter(TorporLabTests.isAlive)
            #expect(alive.isEmpty, "lab processes left: \(alive)")
            try await Self.expectNothingLeft(hosts.map(\.namespace), bridge: bridge, bases: hosts.map(\.base))
            let again = try await ProcessRunner.run([try KVMLab.product("torpor-lab"), "down", "--dir", lab.lab])
            #expect(again.status == 0 && again.stdout.contains("nothing to stop"), "\(again)")
        }

        @Test("--libvirt kvm --bmc: a host put to sleep through its BMC takes its libvirtd down; woken, it is back")
        func bmcPowersTheLibvirtd() async throws {
            try EndToEnd.require(LabUnderTest.kvmLabProblem)
            // One host kept awake: the other sleeps; once woken it stays up 60 s.
            let lab = try await LabUnderTest.kvm(
                hosts: 2,
                extra: [
                    "--bmc", "--idle-time", "2", "--reserved", "1", "--minimum-awake", "60", "--wakeup-time", "120",
                ],
                portsPerHost: 3
            )
            defer { lab.tearDown() }
            let hosts = try lab.libvirtHosts()
            let slept = await lab.eventually(timeout: .seconds(90)) {
                try await EnergyLabTests.sleeping(lab).count == 1
            }
            let asleep = try #require(try await EnergyLabTests.sleeping(lab).first, "no host went to sleep")
            #expect(slept)
            let index = Int(asleep.dropFirst("host-".count))!
            let host = hosts[index - 1]
            // Powered off: chassis off once its agent is gone.
            let off = await lab.eventually(timeout: .seconds(90)) {
                try await EnergyLabTests.chassisPower(lab, host: index, hosts: 2) == "Chassis Power is off"
            }
            let powerLog = { (try? String(contentsOfFile: "\(host.base)/power.log", encoding: .utf8)) ?? "" }
            #expect(off, "\(asleep) is still on: \(powerLog())")
            // The libvirtd stops behind the powered-off host.
            let stopped = await lab.eventually(timeout: .seconds(90)) {
                try await !ProcessRunner.run([KVMLab.script, "status", host.base], timeout: .seconds(30)).succeeded
            }
            #expect(stopped, "the sleeping \(asleep)'s libvirtd still answers")
            #expect(powerLog().contains("power off: stopping libvirtd"), "\(powerLog())")
            let quiet = await lab.eventually(timeout: .seconds(30)) {
                KVMVirtualClusterTests.namespaceProcesses(host.base).isEmpty
            }
            #expect(quiet, "processes left of \(host.base): \(KVMVirtualClusterTests.namespaceProcesses(host.base))")

            // Woken through its BMC: the libvirtd first, then the agent, which rejoins.
            let wake = try await lab.torpor(["host", "wake", asleep], timeout: .seconds(180))
            #expect(wake.status == 0 && wake.stdout.contains("\(asleep) is awake"), "\(wake)")
            let up = try await ProcessRunner.run([KVMLab.script, "status", host.base], timeout: .seconds(30))
            #expect(up.succeeded, "the woken \(asleep)'s libvirtd does not answer: \(powerLog())")
            #expect(try await lab.hosts()[asleep]?["state"] as? String == "ACTIVE")
            let version = try await ProcessRunner.run(["virsh", "-c", host.migrationURI, "version"])
            #expect(version.succeeded, "\(version)")

            let bridge = try #require((lab.labState()?["network"] as? [String: Any])?["bridge"] as? String)
            let down = try await ProcessRunner.run(
                [try KVMLab.product("torpor-lab"), "down", "--dir", lab.lab],
                timeout: .seconds(240)
            )
            #expect(down.status == 0, "\(down)")
            try await Self.expectNothingLeft(hosts.map(\.namespace), bridge: bridge, bases: hosts.map(\.base))
        }

        @Test("lab up killed while its libvirtds start: lab down still removes daemons, namespaces and bridge")
        func downAfterACrashedUp() async throws {
            try EndToEnd.require(LabUnderTest.kvmLabProblem)
            let lab = try LabUnderTest.unstarted(hosts: 2)
            defer { lab.tearDown() }
            var environment = ProcessInfo.processInfo.environment
            environment["TORPOR_LAB_LIBVIRTD"] = KVMLab.script
            let up = try BackgroundProcess(
                [
                    try KVMLab.product("torpor-lab"), "up", "--hosts", "2", "--libvirt", "kvm", "--dir", lab.lab,
                    "--base-port", "\(lab.basePort)",
                ],
                stdout: lab.directory.appendingPathComponent("up.stdout"),
                stderr: lab.directory.appendingPathComponent("up.stderr"),
                environment: environment
            )
            defer { up.kill() }
            // lab.json records the daemons before they start; kill lab up while they do.
            let starting = await lab.eventually(timeout: .seconds(60)) {
                (lab.labState()?["libvirtDaemons"] as? [Any])?.count == 2 && up.stderr.contains("starting libvirtd")
            }
            try #require(starting, "lab up never started its libvirtds: \(up.stderr)")
            up.kill()
            #expect(await up.waitForExit(timeout: .seconds(10)))
            let state = try #require(lab.labState())
            let network = try #require(state["network"] as? [String: Any])
            let namespaces = try #require(network["namespaces"] as? [String])
            let bridge = try #require(network["bridge"] as? String)
            let bases = try #require(state["libvirtDaemons"] as? [[String: Any]]).compactMap { $0["base"] as? String }
            #expect(try await Self.namespaces().isSuperset(of: namespaces), "the namespaces should exist before down")

            // The scripts lab up started keep starting their daemons; down waits for them and stops them.
            let down = try await ProcessRunner.run(
                [try KVMLab.product("torpor-lab"), "down", "--dir", lab.lab],
                timeout: .seconds(240)
            )
            #expect(down.status == 0, "\(down)")
            try await Self.expectNothingLeft(namespaces, bridge: bridge, bases: bases)
            #expect(!FileManager.default.fileExists(atPath: "\(lab.lab)/lab.json"))
        }
    }
}
