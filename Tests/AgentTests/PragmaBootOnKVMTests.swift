import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Why the pragma test cannot run here, or nil: a KVM lab's needs and the image programs.
private let pragmaProblem: String? = {
    if let problem = LabUnderTest.kvmLabProblem { return problem }
    let missing = ["qemu-img", "genisoimage", "isoinfo", "virsh"].filter { ProcessRunner.resolve($0) == nil }
    return missing.isEmpty ? nil : "not installed: \(missing.joined(separator: ", ")) (scripts/install-deps)"
}()

extension KVMSuites {
    /// pragma_boot on real KVM: seed 004's own `vc-in.xml` (its disks pointing at a lab image, its clock wait made
    /// short) booted by `torpor vc boot --cpus 2` on a 2-host KVM lab: a frontend, then after the wait two computes,
    /// each with its own overlay and an ISO whose `vc-out.xml` has the seed's shape; `--cpus` past what the lab holds
    /// is refused naming the short resource, and starts nothing; `vc shutdown` and `vc clean` as for any cluster.
    @Suite(
        .serialized,
        .enabled(if: EndToEnd.runs(pragmaProblem), EndToEnd.reason(pragmaProblem)),
        .timeLimit(.minutes(15))
    )
    struct PragmaBootOnKVMTests {
        static let frontend = "calit2-119-222"
        static let delaySeconds = 20

        @Test func theSeedsVCInBootsAFrontendThenTwoComputes() async throws {
            try EndToEnd.require(pragmaProblem)
            let lab = try await LabUnderTest.kvm(hosts: 2)
            defer { lab.tearDown() }
            func logs() -> String { String(lab.log("manager").suffix(3000)) }

            // The seed's vc-in.xml, its images made raw lab disks (pragma's images are raw), its wait short.
            let frontendImage = lab.directory.appendingPathComponent("calit2-119-222.img")
            let computeImage = lab.directory.appendingPathComponent("hosted-vm-0-0-1.img")
            for image in [frontendImage, computeImage] {
                var disk = MigrationPair.bootDisk(MigrationPair.haltingBootSector)
                disk.append(Data(count: 1024 * 1024 - disk.count))
                try disk.write(to: image)
            }
            let seed = try String(
                contentsOf: try #require(Bundle.module.url(forResource: "Fixtures/pragma/vc-in", withExtension: "xml")),
                encoding: .utf8
            )
            let vcIn = lab.directory.appendingPathComponent("vc-in.xml")
            try seed.replacingOccurrences(of: "calit2-119-222.img.gz", with: frontendImage.path)
                .replacingOccurrences(of: "hosted-vm-0-0-1.img.gz", with: computeImage.path)
                .replacingOccurrences(of: "value='300'", with: "value='\(Self.delaySeconds)'")
                .write(to: vcIn, atomically: true, encoding: .utf8)
            let key = "ssh-rsa AAAAB3NzaC1yc2EAAAABIwAAAQEA6vUe5tX root@somehost.ucsd.edu"
            let keyFile = lab.directory.appendingPathComponent("id_rsa.pub")
            try "\(key)\n".write(to: keyFile, atomically: true, encoding: .utf8)
            let sumBefore = try await ProcessRunner.run(["sha256sum", frontendImage.path, computeImage.path])

            // More CPUs than the lab's 4 cores hold: refused before anything starts, naming what is short.
            let tooBig = try await lab.torpor(
                ["vc", "boot", vcIn.path, "--cpus", "64", "--key", keyFile.path, "--vcname", "big"]
            )
            #expect(tooBig.status == 1, "\(tooBig)")
            #expect(tooBig.stderr.contains("big does not fit"), "\(tooBig)")
            #expect(tooBig.stderr.contains("nothing was started"), "\(tooBig)")
            #expect(tooBig.stderr.contains("CPU"), "\(tooBig)")
            let clusters = try await lab.torpor(["vc", "list"])
            #expect(!clusters.stdout.contains("big"), "\(clusters)")
            for index in 1...2 {
                #expect(try await lab.virsh(index, "list", "--all").stdout.isEmpty)
            }

            // The real boot, not waited for, so the wait between the frontend and the computes shows.
            let boot = try await lab.torpor(
                ["vc", "boot", vcIn.path, "--cpus", "2", "--key", keyFile.path, "--no-wait"]
            )
            try #require(boot.status == 0, "\(boot)\n\(logs())")
            let computes = ["\(Self.frontend)-compute-0", "\(Self.frontend)-compute-1"]
            var sawTheWait = false
            let frontendUp = await lab.eventually(timeout: .seconds(120)) {
                let vms = try await lab.vms(Self.frontend)
                guard vms[Self.frontend]?["state"] as? String == "running" else { return false }
                sawTheWait = computes.allSatisfy { vms[$0]?["state"] as? String != "running" }
                return true
            }
            try #require(frontendUp, "the frontend never ran\n\(logs())")
            #expect(sawTheWait, "the computes ran as soon as the frontend did")
            let allUp = await lab.eventually(timeout: .seconds(180)) {
                let vms = try await lab.vms(Self.frontend)
                return vms.count == 3 && vms.values.allSatisfy { $0["state"] as? String == "running" }
            }
            let states = try await lab.vms(Self.frontend).mapValues { $0["state"] as? String ?? "" }
            try #require(allUp, "\(states)\n\(logs())")

            // Each node runs from its own overlay with its ISO; the vc-out.xml on it has the seed's shape.
            let vms = try await lab.vms(Self.frontend)
            var macs: [String: String] = [:]
            var vcOuts: [String: String] = [:]
            var overlays: Set<String> = []
            for name in [Self.frontend] + computes {
                let host = try #require(vms[name]?["host"] as? String, "\(vms)")
                let index = try #require(Int(host.split(separator: "-").last ?? ""), "\(host)")
                let disks = try await lab.virsh(index, "domblklist", name)
                let rows = disks.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
                let overlay = try #require(rows.first { $0.first == "vda" }?.last, "\(disks)")
                let iso = try #require(rows.first { $0.first == "sda" }?.last, "\(disks)")
                overlays.insert(overlay)
                let read = try await ProcessRunner.run(["isoinfo", "-R", "-i", iso, "-x", "/vc-out.xml"])
                vcOuts[name] = read.stdout
                let interfaces = try await lab.virsh(index, "domiflist", name)
                macs[name] = interfaces.stdout.split(separator: "\n").first.flatMap { line in
                    line.split(separator: " ").last.map { String($0).lowercased() }
                }
                #expect(try await lab.virsh(index, "domstate", name).stdout.contains("running"))
            }
            #expect(overlays.count == 3, "\(overlays)")
            let frontendOut = try #require(vcOuts[Self.frontend])
            let publicIP = try #require(vms[Self.frontend]?["ip"] as? String, "\(vms)")
            #expect(frontendOut.hasPrefix("<vc>\n  <frontend>\n"), "\(frontendOut)")
            #expect(
                frontendOut.contains(
                    "<public fqdn=\"\(Self.frontend)\" ip=\"\(publicIP)\" netmask=\"255.255.255.0\" gw=\"10.42.0.1\"/>"
                ),
                "\(frontendOut)"
            )
            #expect(frontendOut.contains("<private ip=\"10.1.1.1\" netmask=\"255.255.0.0\"/>"), "\(frontendOut)")
            #expect(frontendOut.contains("<compute count=\"2\">"), "\(frontendOut)")
            for (index, compute) in computes.enumerated() {
                let mac = try #require(macs[compute])
                #expect(
                    frontendOut.contains(
                        "<node name=\"\(compute)\" mac=\"\(mac)\" ip=\"10.1.1.\(index + 2)\" cpus=\"1\"/>"
                    ),
                    "\(frontendOut)\n\(macs)"
                )
                let computeOut = try #require(vcOuts[compute])
                #expect(
                    computeOut == """
                        <vc>
                          <compute>
                            <private fqdn="\(compute)" ip="10.1.1.\(index + 2)" netmask="255.255.0.0" gw="10.1.1.1"/>
                          </compute>
                          <network>
                            <dns ip="10.42.0.1" search="local" domain=""/>
                          </network>
                          <key>\(key)</key>
                        </vc>

                        """
                )
            }
            #expect(frontendOut.contains("<dns ip=\"10.42.0.1\" search=\"local\" domain=\"\"/>"), "\(frontendOut)")
            #expect(frontendOut.hasSuffix("  <key>\(key)</key>\n</vc>\n"), "\(frontendOut)")

            // As any cluster: shut down, then cleaned away with its files; the images are as they were.
            // The tiny guests ignore ACPI, so the shutdown is asked, not waited for.
            let shutdown = try await lab.torpor(["vc", "shutdown", Self.frontend, "--no-wait"])
            #expect(shutdown.status == 0, "\(shutdown)")
            let clean = try await lab.torpor(["vc", "clean", Self.frontend], timeout: .seconds(240))
            #expect(clean.status == 0, "\(clean)\n\(logs())")
            for overlay in overlays {
                #expect(!FileManager.default.fileExists(atPath: overlay), "\(overlay)")
            }
            #expect(!(try await lab.torpor(["vc", "list"])).stdout.contains(Self.frontend))
            let sumAfter = try await ProcessRunner.run(["sha256sum", frontendImage.path, computeImage.path])
            #expect(sumAfter.stdout == sumBefore.stdout)
        }
    }
}
