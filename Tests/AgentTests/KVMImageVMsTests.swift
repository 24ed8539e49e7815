import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension KVMSuites {
    /// Two VMs from one image on real KVM: `torpor-lab up --libvirt kvm` (whose manager makes image VMs' files in the
    /// lab directory), a flavor, the tiny guest's boot disk as a raw image, `vc add --flavor --image --count 2`, and
    /// both guests run from their own overlays with their own seed ISOs and MACs; the image's checksum is the same
    /// afterwards, and removing the cluster removes the overlays. Skipped like KVMVirtualClusterTests.
    @Suite(
        .serialized,
        .enabled(if: EndToEnd.runs(KVMImageVMsSkip.reason), EndToEnd.reason(KVMImageVMsSkip.reason)),
        .timeLimit(.minutes(6))
    )
    struct KVMImageVMsTests {
        typealias Lab = KVMVirtualClusterTests

        @Test("two real guests boot from their own overlays of one image, with their own seed ISOs")
        func twoGuestsFromOneImage() async throws {
            try EndToEnd.require(KVMImageVMsSkip.reason)
            let torpor = try KVMLab.product("torpor")
            let torporLab = try KVMLab.product("torpor-lab")
            for daemon in ["torpor-manager", "torpor-agent", "agentctl"] { _ = try KVMLab.product(daemon) }
            let scratch = try ProcessRunner.scratchDirectory(prefix: "torpor-kvm-images")
            let lab = scratch.appendingPathComponent("lab")
            let base = lab.appendingPathComponent("libvirt-host-1")
            let basePort = TorporLabTests.freePortRange(count: 2)
            let manager = "127.0.0.1:\(basePort)"
            var environment = ProcessInfo.processInfo.environment
            environment["TORPOR_LAB_LIBVIRTD"] = KVMLab.script
            LabExitGuard.shared.register(base: base.path)
            defer {
                for pid in Lab.labPids(lab) where TorporLabTests.isAlive(pid) { kill(pid_t(pid), SIGKILL) }
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
            func torporCommand(_ arguments: String...) async throws -> ProcessOutput {
                try await run([torpor] + arguments + ["--manager", manager])
            }
            func logs() -> String {
                ["manager", "agent-1"].map { name in
                    let text =
                        (try? String(contentsOf: lab.appendingPathComponent("\(name).log"), encoding: .utf8)) ?? ""
                    return "--- \(name).log (end)\n" + text.split(separator: "\n").suffix(30).joined(separator: "\n")
                }.joined(separator: "\n")
            }

            let up = try await run(
                [torporLab, "up", "--hosts", "1", "--libvirt", "kvm", "--dir", lab.path, "--base-port", "\(basePort)"],
                timeout: .seconds(180)
            )
            try #require(up.status == 0, "\(up)\n\(logs())")
            let state = try #require(Lab.labState(lab), "no lab.json after lab up")
            let daemons = try #require(state["libvirtDaemons"] as? [[String: Any]], "lab.json records no libvirtd")
            let uri = try #require(daemons.first?["uri"] as? String)

            // The image: the tiny guest's boot sector on a 1 MiB raw disk.
            let image = scratch.appendingPathComponent("tiny.img")
            var bytes = try Data(contentsOf: try KVMLab.fixtures().appendingPathComponent("nic-boot.bin"))
            bytes.append(Data(count: 1024 * 1024 - bytes.count))
            try bytes.write(to: image)
            let sumBefore = try await run(["sha256sum", image.path])
            try #require(sumBefore.succeeded, "\(sumBefore)")

            let flavor = try await torporCommand("flavor", "create", "tiny", "--vcpus", "1", "--memory", "64M")
            try #require(flavor.succeeded, "\(flavor)\n\(logs())")
            let added = try await torporCommand("image", "add", "tiny", image.path)
            try #require(added.succeeded, "\(added)\n\(logs())")
            try #require(try await torporCommand("vc", "define", "img").succeeded)
            let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKvmTorporLab operator@lab"
            let keyFile = scratch.appendingPathComponent("operator.pub")
            try "\(key)\n".write(to: keyFile, atomically: true, encoding: .utf8)
            let vms = try await torporCommand(
                "vc",
                "add",
                "img",
                "--flavor",
                "tiny",
                "--image",
                "tiny",
                "--count",
                "2",
                "--ssh-key",
                keyFile.path
            )
            try #require(vms.succeeded, "\(vms)\n\(logs())")
            let start = try await run(
                [torpor, "vc", "start", "img", "--json", "--manager", manager],
                timeout: .seconds(240)
            )
            try #require(start.status == 0, "\(start)\n\(logs())")
            #expect(try TorporLabTests.jsonObject(start)["state"] as? String == "succeeded", "\(start)\n\(logs())")

            let info = try await torporCommand("vc", "info", "img", "--json")
            let listed = try #require(try TorporLabTests.jsonObject(info)["vms"] as? [[String: Any]])
            #expect(listed.compactMap { $0["name"] as? String } == ["img-1", "img-2"])
            var overlays: Set<String> = []
            for vm in listed {
                let name = try #require(vm["name"] as? String)
                #expect(vm["state"] as? String == "running", "\(vm)")
                let ip = vm["ip"] as? String ?? "?"
                let mac = (vm["mac"] as? String ?? "?").lowercased()
                // QEMU runs it from its own overlay, with its seed ISO as the CD-ROM and its MAC.
                let disks = try await run(["virsh", "-q", "-c", uri, "domblklist", name], timeout: .seconds(30))
                #expect(disks.succeeded, "\(disks)")
                let rows = disks.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
                let overlay = try #require(rows.first { $0.first == "vda" }?.last, "\(disks)")
                let seed = try #require(rows.first { $0.first == "sda" }?.last, "\(disks)")
                #expect(overlay != image.path && overlay.hasSuffix(".qcow2"), "\(disks)")
                overlays.insert(overlay)
                let interfaces = try await run(["virsh", "-q", "-c", uri, "domiflist", name], timeout: .seconds(30))
                #expect(interfaces.stdout.lowercased().contains(mac), "\(interfaces)")
                let backing = try await run(["qemu-img", "info", "-U", "--output=json", overlay])
                #expect(backing.stdout.contains("\"backing-filename\": \"\(image.path)\""), "\(backing)")
                let network = try await run(["isoinfo", "-R", "-i", seed, "-x", "/network-config"])
                #expect(network.stdout.contains("\"\(ip)/24\""), "\(network)")
                #expect(network.stdout.lowercased().contains("\"\(mac)\""), "\(network)")
                let meta = try await run(["isoinfo", "-R", "-i", seed, "-x", "/meta-data"])
                #expect(meta.stdout.contains("local-hostname: \"\(name)\""), "\(meta)")
                let user = try await run(["isoinfo", "-R", "-i", seed, "-x", "/user-data"])
                #expect(user.stdout.hasPrefix("#cloud-config\n"), "\(user)")
                #expect(user.stdout.contains("  - \"\(key)\""), "\(user)")
            }
            #expect(overlays.count == 2, "\(overlays)")
            #expect(
                Lab.namespaceProcesses(base.resolvingSymlinksInPath().path, command: "qemu").count >= 2,
                "fewer than two QEMUs in the lab's libvirtd namespace"
            )

            // Removing the cluster destroys the guests and removes their overlays; the image is as it was.
            let undefine = try await run(
                [torpor, "vc", "undefine", "img", "--manager", manager],
                timeout: .seconds(180)
            )
            #expect(undefine.succeeded, "\(undefine)\n\(logs())")
            for overlay in overlays { #expect(!FileManager.default.fileExists(atPath: overlay), "\(overlay)") }
            let sumAfter = try await run(["sha256sum", image.path])
            #expect(sumAfter.stdout == sumBefore.stdout)

            let down = try await run([torporLab, "down", "--dir", lab.path], timeout: .seconds(180))
            #expect(down.status == 0, "\(down)")
        }
    }
}

/// Why KVMImageVMsTests cannot run here, or nil: KVMVirtualClusterTests' reasons, and the image programs.
enum KVMImageVMsSkip {
    static let reason: String? = {
        if let problem = KVMLab.kvmProblem { return problem }
        if geteuid() != 0 { return "not root (scripts/lab-libvirtd mounts, creates namespaces and taps)" }
        let missing = ["qemu-img", "genisoimage", "isoinfo", "virsh"].filter {
            !FileManager.default.isExecutableFile(atPath: "/usr/bin/\($0)")
        }
        return missing.isEmpty ? nil : "not installed: \(missing.joined(separator: ", ")) (scripts/install-deps)"
    }()
}
