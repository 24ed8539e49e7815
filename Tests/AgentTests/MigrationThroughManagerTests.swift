import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension KVMSuites {
    /// Live migration through the manager on real KVM: `torpor-lab up --libvirt kvm --hosts 2` (each host's libvirtd in
    /// its own namespace on the lab's bridge), `torpor vm migrate`, and what the manager records afterwards. Skipped,
    /// with the reason shown, without /dev/kvm, root or `ip`; TORPOR_REQUIRE_E2E fails it instead. One or two tiny
    /// guests per test: under nested KVM each one's firmware spins a core for seconds after it starts.
    @Suite(
        .serialized,
        .enabled(if: EndToEnd.runs(LabUnderTest.kvmLabProblem), EndToEnd.reason(LabUnderTest.kvmLabProblem)),
        .timeLimit(.minutes(15))
    )
    struct MigrationThroughManagerTests {
        // Its labs run with --no-relocation: only the migrations the tests ask for, none of relocation's own between
        // the two underloaded hosts at the same time (a concurrent one left a copy-storage migration hanging).
        /// `torpor vm migrate VM --to HOST --method METHOD --json`: the finished task.
        static func migrate(
            _ vm: String,
            to host: String,
            method: String = "live",
            in lab: LabUnderTest
        ) async throws -> [String: Any] {
            let output = try await lab.torpor(
                ["vm", "migrate", vm, "--to", host, "--method", method, "--json", "--wait-timeout", "400"],
                timeout: .seconds(420)
            )
            let task = try? JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
            return try #require(task, "torpor vm migrate printed no task:\n\(output)\n\(logs(lab))")
        }

        /// `torpor vm migrate … --no-wait --json`: the accepted task's id.
        static func startMigrating(_ vm: String, to host: String, in lab: LabUnderTest) async throws -> String {
            let output = try await lab.torpor(["vm", "migrate", vm, "--to", host, "--no-wait", "--json"])
            let task = try? JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
            return try #require(task?["id"] as? String, "torpor vm migrate --no-wait printed no task id:\n\(output)")
        }

        /// `torpor task show ID --json` (which exits 1 for a failed task, printing it all the same).
        static func task(_ id: String, in lab: LabUnderTest) async throws -> [String: Any] {
            let output = try await lab.torpor(["task", "show", id, "--json"])
            let task = try? JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
            return try #require(task, "torpor task show printed no task:\n\(output)")
        }

        static func migration(of task: [String: Any]) -> [String: Any] { task["migration"] as? [String: Any] ?? [:] }

        static func stepNames(of task: [String: Any]) -> [String] {
            ((migration(of: task)["steps"] as? [[String: Any]]) ?? []).compactMap { $0["step"] as? String }
        }

        /// The VM as `torpor vm info` shows it.
        static func vm(_ name: String, in lab: LabUnderTest) async throws -> [String: Any] {
            let info = try #require(try await lab.json(["vm", "info", name]) as? [String: Any])
            return (info["vm"] as? [String: Any]) ?? info
        }

        /// Returns once the guest's boot sector rewrites its memory (see `MigrationPair.waitUntilDirtying`).
        static func waitUntilDirtying(_ name: String, on index: Int, in lab: LabUnderTest) async throws {
            let hosts = try lab.libvirtHosts().map {
                MigrationPair.Host(
                    name: $0.hostId,
                    address: $0.address,
                    tcpURI: $0.migrationURI,
                    socketURI: $0.socketURI
                )
            }
            try await MigrationPair(base: lab.directory, hosts: hosts).waitUntilDirtying(name, on: hosts[index - 1])
        }

        static func logs(_ lab: LabUnderTest) -> String {
            ["manager", "agent-1", "agent-2"].map { name in
                "--- \(name).log (end)\n" + lab.log(name).split(separator: "\n").suffix(25).joined(separator: "\n")
            }.joined(separator: "\n")
        }

        /// A VM defined and started through the manager (`torpor vc`), from `guestTemplate`.
        static func startThroughManager(
            _ name: String,
            cluster: String,
            bootSector: [UInt8] = MigrationPair.haltingBootSector,
            in lab: LabUnderTest
        ) async throws {
            try #require(try await lab.torpor(["vc", "define", cluster]).status == 0)
            let add = try await lab.torpor(
                [
                    "vc", "add", cluster, try lab.guestTemplate("\(name)-template", bootSector: bootSector), "--name",
                    name,
                ]
            )
            try #require(add.status == 0, "\(add)")
            let start = try await lab.torpor(["vc", "start", cluster, "--json"], timeout: .seconds(180))
            try #require(start.status == 0, "\(start)\n\(logs(lab))")
        }

        /// Waits until the manager has `vm` running on `host` and that host's agent reports it in its samples (the
        /// host's VM count comes from its monitoring reports), while the other host reports none.
        static func expectPlaced(_ vm: String, on host: String, in lab: LabUnderTest) async throws {
            let other = host == "host-1" ? "host-2" : "host-1"
            let placed = await lab.eventually(timeout: .seconds(60)) {
                let info = try await Self.vm(vm, in: lab)
                let hosts = try await lab.hosts()
                return info["host"] as? String == host && info["state"] as? String == "running"
                    && hosts[host]?["vms"] as? Int == 1 && hosts[other]?["vms"] as? Int == 0
            }
            let info = (try? await Self.vm(vm, in: lab)) ?? [:]
            let hosts = (try? await lab.hosts()) ?? [:]
            #expect(placed, "\(vm) should be running on \(host) and reported by it only: \(info)\n\(hosts)")
        }

        /// Restarts lab agent `index` with `lines` added to its `migration:` section (the watchdog's settings), and
        /// waits until it has rejoined.
        static func reconfigureAgent(_ index: Int, migration lines: String, in lab: LabUnderTest) async throws {
            let agent = try lab.process("agent-\(index)")
            // The configuration lab up wrote, kept aside the first time.
            let pristine = agent.config + ".lab-up"
            if !FileManager.default.fileExists(atPath: pristine) {
                try FileManager.default.copyItem(atPath: agent.config, toPath: pristine)
            }
            let original = try String(contentsOfFile: pristine, encoding: .utf8)
            let indented = lines.split(separator: "\n").map { "  \($0)" }.joined(separator: "\n")
            try #require(original.contains("migration:\n"), "no migration: section in \(agent.config)")
            try original.replacingOccurrences(of: "migration:\n", with: "migration:\n\(indented)\n")
                .write(toFile: agent.config, atomically: true, encoding: .utf8)
            for pid in lab.agentPids(index) { kill(pid_t(pid), SIGTERM) }
            let stopped = await lab.eventually(timeout: .seconds(20)) { lab.agentPids(index).isEmpty }
            try #require(stopped, "agent-\(index) did not stop")
            _ = try lab.restart("agent-\(index)")
            let rejoined = await lab.eventually(timeout: .seconds(60)) {
                try await lab.hosts()["host-\(index)"]?["connected"] as? Bool == true
            }
            try #require(rejoined, "agent-\(index) did not rejoin\n\(logs(lab))")
        }

        /// Post-copy not permitted; 1 MiB/s from the start, so nothing converges until the watchdog acts. A 64 MiB
        /// guest's deadline at 100 s/GiB is 6.25 s; then one step every 4 s.
        static let slowMigration = """
            initial_bandwidth_mib: 1
            completion_timeout_per_gib: 100s
            progress_timeout: 5s
            stall_iterations: 1000
            step_interval: 4s
            sample_interval: 500ms
            auto_converge: false
            """

        /// A migration at 1 MiB/s the watchdog leaves alone for many minutes.
        static let endlessMigration = """
            initial_bandwidth_mib: 1
            completion_timeout_per_gib: 16000s
            progress_timeout: 1000s
            stall_iterations: 100000
            sample_interval: 500ms
            auto_converge: false
            steps: [abort]
            """

        @Test("a tiny guest migrates host-1 → host-2 and back through the manager, then with each copy method")
        func tinyGuestEachMethod() async throws {
            try EndToEnd.require(LabUnderTest.kvmLabProblem)
            let lab = try await LabUnderTest.kvm(hosts: 2, extra: ["--no-relocation"])
            defer { lab.tearDown() }

            // Started through the manager: first-fit puts it on host-1.
            try await Self.startThroughManager("tiny", cluster: "t", in: lab)
            try await Self.expectPlaced("tiny", on: "host-1", in: lab)
            for (from, to) in [(1, 2), (2, 1)] {
                let task = try await Self.migrate("tiny", to: "host-\(to)", in: lab)
                print("MigrationThroughManagerTests: live host-\(from) → host-\(to): \(task)")
                #expect(task["state"] as? String == "succeeded", "\(task)\n\(Self.logs(lab))")
                #expect(Self.migration(of: task)["phase"] as? String == "completed", "\(task)")
                #expect(Self.migration(of: task)["source"] as? String == "host-\(from)", "\(task)")
                try await lab.expectRunningExactlyOnce("tiny", on: to)
                try await Self.expectPlaced("tiny", on: "host-\(to)", in: lab)
                // Its samples come from the host it runs on.
                let samples = try await ProcessRunner.run(
                    [try KVMLab.product("agentctl"), "samples", "tiny", "--agent", lab.agentAddress(to), "--json"]
                )
                #expect(samples.succeeded, "host-\(to)'s agent has no samples of tiny: \(samples)")
            }
            #expect(try await lab.torpor(["vc", "destroy", "t"]).status == 0)

            // The copy methods move a writable disk that only the source has: the guest is started behind the manager's
            // back (the disk is in each libvirtd's private /var/lib/libvirt) and adopted from host-1's inventory.
            let hosts = try lab.libvirtHosts()
            func privateDisk(on index: Int) -> URL {
                URL(fileURLWithPath: "\(hosts[index - 1].base)/lib/images/copied.img")
            }
            var image = Data(MigrationPair.haltingBootSector)
            image.append(Data(count: 510 - image.count))
            image.append(contentsOf: [0x55, 0xAA])
            image.append(Data(count: 1024 * 1024 - 512))
            try FileManager.default.createDirectory(
                at: privateDisk(on: 1).deletingLastPathComponent(),
                withIntermediateDirectories: true
            )
            try image.write(to: privateDisk(on: 1))
            let xml = try String(contentsOfFile: try lab.guestTemplate("copied"), encoding: .utf8)
                .replacingOccurrences(
                    of: "\(lab.directory.path)/copied.img",
                    with: "/var/lib/libvirt/images/copied.img"
                )
                .replacingOccurrences(of: "<readonly/>", with: "")
            let xmlFile = lab.directory.appendingPathComponent("copied-private.xml")
            try xml.write(to: xmlFile, atomically: true, encoding: .utf8)
            try await lab.virsh(1, "define", xmlFile.path)
            try await lab.virsh(1, "start", "copied")
            try await Self.expectPlaced("copied", on: "host-1", in: lab)
            for (from, to, method) in [(1, 2, "copy-storage-all"), (2, 1, "copy-storage-inc")] {
                // The destination needs an image of the same size to copy into.
                try? FileManager.default.removeItem(at: privateDisk(on: to))
                try FileManager.default.createDirectory(
                    at: privateDisk(on: to).deletingLastPathComponent(),
                    withIntermediateDirectories: true
                )
                try Data(count: 1024 * 1024).write(to: privateDisk(on: to))
                let task = try await Self.migrate("copied", to: "host-\(to)", method: method, in: lab)
                print("MigrationThroughManagerTests: \(method) host-\(from) → host-\(to): \(task)")
                #expect(task["state"] as? String == "succeeded", "\(task)\n\(Self.logs(lab))")
                #expect(Self.migration(of: task)["method"] as? String != "live", "\(task)")
                try await lab.expectRunningExactlyOnce("copied", on: to)
                try await Self.expectPlaced("copied", on: "host-\(to)", in: lab)
                let copied = try Data(contentsOf: privateDisk(on: to)).prefix(512)
                #expect(Array(copied.suffix(2)) == [0x55, 0xAA], "\(method) did not copy the boot sector")
            }
        }

        @Test(
            "a guest that never converges: the watchdog's steps end it running exactly once, with and without post-copy"
        )
        func nonConvergingGuest() async throws {
            try EndToEnd.require(LabUnderTest.kvmLabProblem)
            let lab = try await LabUnderTest.kvm(hosts: 2, extra: ["--no-relocation"])
            defer { lab.tearDown() }
            try await Self.startThroughManager(
                "dirty",
                cluster: "d",
                bootSector: MigrationPair.dirtyingBootSector,
                in: lab
            )
            try await Self.expectPlaced("dirty", on: "host-1", in: lab)
            let pair = MigrationPair(
                base: lab.directory,
                hosts: try lab.libvirtHosts().map {
                    MigrationPair.Host(
                        name: $0.hostId,
                        address: $0.address,
                        tcpURI: $0.migrationURI,
                        socketURI: $0.socketURI
                    )
                }
            )
            try await pair.waitUntilDirtying("dirty", on: pair.hosts[0])

            // Post-copy permitted: raise the downtime (no help at 1 MiB/s), then switch to post-copy, which completes.
            try await Self.reconfigureAgent(
                1,
                migration: Self.slowMigration + "\nallow_post_copy: true\nraised_downtime_ms: 50\n"
                    + "steps: [raise_downtime, post_copy, abort]",
                in: lab
            )
            let postCopied = try await Self.migrate("dirty", to: "host-2", in: lab)
            print("MigrationThroughManagerTests: post-copy permitted: \(postCopied)")
            let phase = Self.migration(of: postCopied)["phase"] as? String
            #expect(phase == "completed" || phase == "aborted", "\(postCopied)")
            #expect(Self.stepNames(of: postCopied).first == "raise_downtime", "\(postCopied)")
            #expect(
                Self.stepNames(of: postCopied).count >= 2,
                "the task should list the watchdog's steps: \(postCopied)"
            )
            let onto = phase == "completed" ? 2 : 1
            try await lab.expectRunningExactlyOnce("dirty", on: onto)
            try await Self.expectPlaced("dirty", on: "host-\(onto)", in: lab)

            // Post-copy not permitted: the step is skipped; pausing makes it converge (or it is aborted). Either way
            // the guest runs once, not paused.
            let back = onto == 2 ? 1 : 2
            try await Self.reconfigureAgent(
                onto,
                migration: Self.slowMigration + "\nallow_post_copy: false\nraised_downtime_ms: 50\n"
                    + "steps: [raise_downtime, post_copy, pause, abort]",
                in: lab
            )
            // Dirtying again on its new host first: a guest whose vCPU a loaded machine starved after the move
            // converged on its own, with no step taken (a CI failure).
            try await Self.waitUntilDirtying("dirty", on: onto, in: lab)
            let paused = try await Self.migrate("dirty", to: "host-\(back)", in: lab)
            print("MigrationThroughManagerTests: post-copy not permitted: \(paused)")
            let pausedPhase = Self.migration(of: paused)["phase"] as? String
            #expect(pausedPhase == "completed" || pausedPhase == "aborted", "\(paused)")
            #expect(!Self.stepNames(of: paused).contains("post_copy"), "post-copy was not permitted: \(paused)")
            #expect(Self.stepNames(of: paused).first == "raise_downtime", "\(paused)")
            let end = pausedPhase == "completed" ? back : onto
            try await lab.expectRunningExactlyOnce("dirty", on: end)
            try await Self.expectPlaced("dirty", on: "host-\(end)", in: lab)
        }

        @Test(
            "an agent lost mid-migration: the destination's fails the task naming it; the source's leaves no second copy"
        )
        func agentsLostMidMigration() async throws {
            try EndToEnd.require(LabUnderTest.kvmLabProblem)
            let lab = try await LabUnderTest.kvm(hosts: 2, extra: ["--no-relocation"])
            defer { lab.tearDown() }
            try await Self.startThroughManager(
                "lost",
                cluster: "l",
                bootSector: MigrationPair.dirtyingBootSector,
                in: lab
            )
            try await Self.expectPlaced("lost", on: "host-1", in: lab)
            try await Self.reconfigureAgent(1, migration: Self.endlessMigration, in: lab)
            // A guest still in its firmware dirties nothing, and at 1 MiB/s would migrate before any agent is killed.
            try await Self.waitUntilDirtying("lost", on: 1, in: lab)

            // The destination's agent is killed while the memory is being copied.
            let first = try await Self.startMigrating("lost", to: "host-2", in: lab)
            let copying = await lab.eventually(timeout: .seconds(60)) {
                Self.migration(of: try await Self.task(first, in: lab))["phase"] as? String == "copying"
            }
            let firstTask = (try? await Self.task(first, in: lab)) ?? [:]
            try #require(copying, "\(firstTask)\n\(Self.logs(lab))")
            for pid in lab.agentPids(2) { kill(pid_t(pid), SIGKILL) }
            let ended = await lab.eventually(timeout: .seconds(120)) {
                try await Self.task(first, in: lab)["state"] as? String != "running"
            }
            let failed = try await Self.task(first, in: lab)
            print("MigrationThroughManagerTests: destination agent killed: \(failed)")
            #expect(ended, "\(failed)")
            #expect(failed["state"] as? String == "failed", "\(failed)")
            #expect(
                (failed["message"] as? String ?? "").contains("host-2"),
                "the failure should name host-2: \(failed)"
            )
            try await lab.expectRunningExactlyOnce("lost", on: 1)
            _ = try lab.restart("agent-2")
            let rejoined = await lab.eventually(timeout: .seconds(60)) {
                try await lab.hosts()["host-2"]?["connected"] as? Bool == true
            }
            try #require(rejoined)
            try await Self.expectPlaced("lost", on: "host-1", in: lab)

            // The source's agent is killed while the memory is being copied, and comes back.
            let second = try await Self.startMigrating("lost", to: "host-2", in: lab)
            let copyingAgain = await lab.eventually(timeout: .seconds(60)) {
                Self.migration(of: try await Self.task(second, in: lab))["phase"] as? String == "copying"
            }
            let secondTask = (try? await Self.task(second, in: lab)) ?? [:]
            try #require(copyingAgain, "\(secondTask)\n\(Self.logs(lab))")
            for pid in lab.agentPids(1) { kill(pid_t(pid), SIGKILL) }
            try await Task.sleep(for: .seconds(3))
            // Never two copies while the source's agent is away.
            let states = try await lab.guestStates("lost")
            #expect(states.filter { $0 == "running" }.count <= 1, "\(states)")
            let restarted = try lab.restart("agent-1")
            let settled = await lab.eventually(timeout: .seconds(180)) {
                try await Self.task(second, in: lab)["state"] as? String != "running"
            }
            let outcome = try await Self.task(second, in: lab)
            print("MigrationThroughManagerTests: source agent restarted: \(outcome)")
            #expect(settled, "the task did not end once the source was back: \(outcome)\n\(Self.logs(lab))")
            // The restarted agent aborts the migration job its predecessor started (libvirt would otherwise copy at
            // 1 MiB/s forever, the destination holding the paused incoming domain): libvirt gets a bounded time to
            // drop the destination's copy, and the guest runs once, on host-1, not paused.
            let aborted = await lab.eventually(timeout: .seconds(90)) {
                try await lab.guestStates("lost") == ["running", "absent"]
            }
            let after = try await lab.guestStates("lost")
            #expect(
                aborted,
                "lost per host after the source's agent returned: \(after)\n\(restarted.stderr)\n\(Self.logs(lab))"
            )
            try await lab.expectRunningExactlyOnce("lost", on: 1)
            #expect(outcome["state"] as? String == "failed", "the migration did not happen: \(outcome)")
            let phase = Self.migration(of: outcome)["phase"] as? String
            #expect(phase != "completed", "the task should not say the guest moved: \(outcome)")
            try await Self.expectPlaced("lost", on: "host-1", in: lab)
            // Nothing left running in libvirt on the source: a later migration starts afresh.
            let job = try await lab.virsh(1, "domjobinfo", "lost")
            // It was the restarted agent that ended it (logged to stderr here; to journald when its socket exists).
            if !restarted.stderr.isEmpty {
                #expect(restarted.stderr.contains("aborting an outgoing migration"), "\(restarted.stderr)")
            }
            #expect(!job.stdout.contains("Unbounded") && !job.stdout.contains("Bounded"), "\(job)")
        }
    }
}
