import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Why KVMVirtualClusterTests cannot run here, or nil.
private enum KVMVirtualClusterSkip {
    static let reason: String? = {
        if let problem = KVMLab.kvmProblem { return problem }
        return geteuid() == 0 ? nil : "not root (scripts/lab-libvirtd mounts, creates namespaces and taps)"
    }()
}

extension KVMSuites {
    /// A virtual cluster on real KVM through `torpor-lab up --libvirt kvm`: the lab gives its agent a private libvirtd
    /// (scripts/lab-libvirtd), the manager places a tiny real guest (Fixtures/kvm) there, starts it, and destroys it;
    /// `lab down` then stops the daemon with its QEMUs. Skipped, with the reason shown, when /dev/kvm cannot be opened
    /// or the tests do not run as root; anything else missing fails. About 12 s, most of it libvirtd's cold start (~9 s);
    /// one guest only, as under nested KVM its firmware spins a core for ~13 s after start.
    @Suite(
        .serialized,
        .enabled(if: EndToEnd.runs(KVMVirtualClusterSkip.reason), EndToEnd.reason(KVMVirtualClusterSkip.reason)),
        .timeLimit(.minutes(5))
    )
    struct KVMVirtualClusterTests {
        @Test("lab up --libvirt kvm, a real guest started and destroyed through the manager, lab down")
        func guestThroughTheManager() async throws {
            try EndToEnd.require(KVMVirtualClusterSkip.reason)
            let clock = ContinuousClock()
            let began = clock.now
            let torpor = try KVMLab.product("torpor")
            let torporLab = try KVMLab.product("torpor-lab")
            // The daemons must sit next to torpor-lab, where it looks for them.
            for daemon in ["torpor-manager", "torpor-agent", "agentctl"] { _ = try KVMLab.product(daemon) }
            let agentctl = try KVMLab.product("agentctl")

            let scratch = try ProcessRunner.scratchDirectory(prefix: "torpor-kvm-vc")
            let lab = scratch.appendingPathComponent("lab")
            let base = lab.appendingPathComponent("libvirt-host-1")
            let basePort = TorporLabTests.freePortRange(count: 2)
            let manager = "127.0.0.1:\(basePort)"
            // The products may be built outside the source tree (--scratch-path): tell lab up where the script is.
            var environment = ProcessInfo.processInfo.environment
            environment["TORPOR_LAB_LIBVIRTD"] = KVMLab.script
            // Stops the daemon even if the test process exits without unwinding this test.
            LabExitGuard.shared.register(base: base.path)
            defer {
                // Whatever happened, leave no daemon and no QEMU behind.
                for pid in Self.labPids(lab) where TorporLabTests.isAlive(pid) { kill(pid_t(pid), SIGKILL) }
                let null = URL(fileURLWithPath: "/dev/null")
                if let stop = try? BackgroundProcess([KVMLab.script, "stop", base.path], stdout: null, stderr: null),
                    !stop.waitForExitBlocking(timeout: .seconds(90))
                {
                    stop.kill()
                }
                LabExitGuard.shared.unregister(base: base.path)
                try? FileManager.default.removeItem(at: scratch)
            }

            func run(_ argv: [String], timeout: Duration = .seconds(120)) async throws -> ProcessOutput {
                try await ProcessRunner.run(argv, environment: environment, timeout: timeout)
            }
            func vc(_ arguments: [String]) async throws -> ProcessOutput {
                try await run([torpor, "vc"] + arguments + ["--manager", manager])
            }
            func logs() -> String {
                ["manager", "agent-1"].map { name in
                    let text =
                        (try? String(contentsOf: lab.appendingPathComponent("\(name).log"), encoding: .utf8)) ?? ""
                    return "--- \(name).log (end)\n" + text.split(separator: "\n").suffix(30).joined(separator: "\n")
                }.joined(separator: "\n")
            }
            /// The agent's own view: VM name → state, from `agentctl status --json`.
            func agentDomains() async throws -> [String: String] {
                let output = try await run([agentctl, "status", "--agent", "127.0.0.1:\(basePort + 1)", "--json"])
                guard output.succeeded else { throw ProcessRunnerError(description: "\(output)") }
                let status = try TorporLabTests.jsonObject(output)
                let vms = (status["vms"] as? [[String: Any]]) ?? []
                return Dictionary(
                    vms.compactMap { vm in (vm["name"] as? String).map { ($0, (vm["state"] as? String) ?? "") } },
                    uniquingKeysWith: { first, _ in first }
                )
            }
            func eventually(_ timeout: Duration, _ condition: () async throws -> Bool) async -> Bool {
                let deadline = clock.now + timeout
                while clock.now < deadline {
                    if (try? await condition()) == true { return true }
                    try? await Task.sleep(for: .milliseconds(500))
                }
                return (try? await condition()) == true
            }

            // Up: one agent on its own libvirtd with KVM.
            let up = try await run(
                [torporLab, "up", "--hosts", "1", "--libvirt", "kvm", "--dir", lab.path, "--base-port", "\(basePort)"],
                timeout: .seconds(180)
            )
            try #require(up.status == 0, "\(up)\n\(logs())")
            #expect(up.stderr.contains("starting libvirtd for host-1"), "\(up)")
            let upAt = clock.now
            let state = try #require(Self.labState(lab), "no lab.json after lab up")
            let daemons = try #require(state["libvirtDaemons"] as? [[String: Any]], "lab.json records no libvirtd")
            #expect(daemons.count == 1)
            let realBase = base.resolvingSymlinksInPath().path
            #expect(daemons.first?["base"] as? String == realBase, "\(daemons)")
            let uri = try #require(daemons.first?["uri"] as? String)
            #expect(uri == "qemu:///system?socket=\(realBase)/run/libvirt-sock")
            let agentConfig = try String(contentsOf: lab.appendingPathComponent("agent-1.yaml"), encoding: .utf8)
            #expect(agentConfig.contains("libvirt_uri: \"\(uri)\""), "\(agentConfig)")

            // The guest: a 1 MiB raw disk whose boot sector is Fixtures/kvm/nic-boot.bin, and a template from
            // tiny-guest.xml with an absolute disk path. No tap name, so that libvirt picks one; the MAC is the manager's.
            let disk = scratch.appendingPathComponent("tiny.img")
            let fixtures = try KVMLab.fixtures()
            var image = try Data(contentsOf: fixtures.appendingPathComponent("nic-boot.bin"))
            try #require(image.count == 512, "Fixtures/kvm/nic-boot.bin is not a 512-byte boot sector")
            image.append(Data(count: 1024 * 1024 - image.count))
            try image.write(to: disk)
            var xml = try String(contentsOf: fixtures.appendingPathComponent("tiny-guest.xml"), encoding: .utf8)
            let domain = try #require(xml.range(of: "<domain"), "tiny-guest.xml has no <domain>")
            xml = String(xml[domain.lowerBound...])
                .replacingOccurrences(of: "@NAME@", with: "tiny-template")
                .replacingOccurrences(of: "@DISK@", with: disk.path)
                .replacingOccurrences(of: "@MAC@", with: "52:54:00:00:00:01")
                .replacingOccurrences(of: "<target dev='@TAP@' managed='yes'/>", with: "")
            try #require(!xml.contains("@"), "a placeholder of tiny-guest.xml left unfilled:\n\(xml)")
            let template = scratch.appendingPathComponent("tiny-kvm.xml")
            try xml.write(to: template, atomically: true, encoding: .utf8)

            // Define, add, start: the manager places the guest on host-1 and its agent starts it on the real libvirtd.
            let define = try await vc(["define", "k"])
            try #require(define.status == 0, "\(define)")
            let add = try await vc(["add", "k", template.path, "--name", "kvm-1"])
            try #require(add.status == 0, "\(add)")
            let startRequested = clock.now
            let start = try await vc(["start", "k", "--json"])
            try #require(start.status == 0, "\(start)\n\(logs())")
            let task = try TorporLabTests.jsonObject(start)
            #expect(task["state"] as? String == "succeeded", "\(task)")
            let started = clock.now

            let running = await eventually(.seconds(30)) { try await agentDomains()["kvm-1"] == "running" }
            if !running {
                let domains = (try? await agentDomains()) ?? [:]
                Issue.record("agent-1 does not report kvm-1 running: \(domains)\n\(logs())")
            }

            let info = try await vc(["info", "k", "--json"])
            try #require(info.status == 0, "\(info)")
            let vms = try #require(TorporLabTests.jsonObject(info)["vms"] as? [[String: Any]])
            let vm = try #require(vms.first { $0["name"] as? String == "kvm-1" }, "\(vms)")
            #expect(vm["state"] as? String == "running", "\(vm)")
            #expect(vm["host"] as? String == "host-1", "\(vm)")
            let ip = vm["ip"] as? String ?? ""
            let mac = vm["mac"] as? String ?? ""
            #expect(ip.hasPrefix("10.42.0."), "\(vm)")
            #expect(mac.lowercased().hasPrefix("52:54:0a:2a:"), "\(vm)")

            // The real domain carries the manager's MAC, and QEMU runs it.
            let interfaces = try await run(["virsh", "-q", "-c", uri, "domiflist", "kvm-1"], timeout: .seconds(30))
            #expect(interfaces.succeeded, "\(interfaces)")
            #expect(!mac.isEmpty && interfaces.stdout.lowercased().contains(mac.lowercased()), "\(interfaces)")
            #expect(
                !Self.namespaceProcesses(realBase, command: "qemu").isEmpty,
                "no QEMU in the lab's libvirtd namespace"
            )

            // Destroy: the guest leaves the agent's libvirt.
            let destroy = try await vc(["destroy", "k"])
            #expect(destroy.status == 0, "\(destroy)\n\(logs())")
            let gone = await eventually(.seconds(30)) { try await agentDomains()["kvm-1"] == nil }
            if !gone {
                let domains = (try? await agentDomains()) ?? [:]
                Issue.record("agent-1 still lists kvm-1 after vc destroy: \(domains)\n\(logs())")
            }
            let destroyed = clock.now

            // Down: the agents and manager, then the lab's libvirtd and anything in its namespace.
            let pids = Self.labPids(lab)
            let down = try await run([torporLab, "down", "--dir", lab.path], timeout: .seconds(180))
            #expect(down.status == 0, "\(down)")
            #expect(down.stdout.contains("1 libvirtd)"), "\(down)")
            #expect(!FileManager.default.fileExists(atPath: lab.appendingPathComponent("lab.json").path))
            let daemonStatus = try await run([KVMLab.script, "status", base.path], timeout: .seconds(30))
            #expect(!daemonStatus.succeeded, "the lab's libvirtd still answers:\n\(daemonStatus)")
            #expect(
                pids.filter(TorporLabTests.isAlive).isEmpty,
                "lab processes left: \(pids.filter(TorporLabTests.isAlive))"
            )
            let left = Self.namespaceProcesses(realBase)
            #expect(left.isEmpty, "processes left in the lab's libvirtd namespace: \(left)")

            print(
                "KVMVirtualClusterTests: lab up \(began.duration(to: upAt)), vc start \(startRequested.duration(to: started)), "
                    + "vc start to destroyed \(started.duration(to: destroyed)), lab down \(destroyed.duration(to: clock.now))"
            )
        }

        static func labState(_ lab: URL) -> [String: Any]? {
            guard let data = FileManager.default.contents(atPath: lab.appendingPathComponent("lab.json").path) else {
                return nil
            }
            return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        }

        /// The manager's and agents' pids recorded in lab.json.
        static func labPids(_ lab: URL) -> [Int] {
            guard let state = labState(lab) else { return [] }
            var processes = (state["agents"] as? [Any]) ?? []
            if let manager = state["manager"] { processes.append(manager) }
            return processes.compactMap { ($0 as? [String: Any])?["pid"] as? Int }.filter { $0 > 0 }
        }

        /// Live processes (libvirtd, QEMU, …) whose /etc/libvirt is BASE/etc, i.e. that run in the mount namespace of
        /// the daemon whose state is in `base` (the test scripts/lab-libvirtd stop uses); optionally only those whose
        /// command name contains `command`.
        static func namespaceProcesses(_ base: String, command: String? = nil) -> [Int] {
            var etc = stat()
            guard stat("\(base)/etc", &etc) == 0,
                let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc")
            else { return [] }
            return entries.compactMap(Int.init).filter { pid in
                var seen = stat()
                guard stat("/proc/\(pid)/root/etc/libvirt", &seen) == 0, seen.st_dev == etc.st_dev,
                    seen.st_ino == etc.st_ino, TorporLabTests.isAlive(pid)
                else { return false }
                guard let command else { return true }
                let name = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? ""
                return name.contains(command)
            }
        }
    }
}
