import Commands
import Foundation
import TestSupport
import Testing

/// What the image catalog's end-to-end test needs installed, or nil.
private let imageProgramsProblem: String? = {
    let missing = ["qemu-img", "genisoimage", "isoinfo", "sha256sum"].filter {
        !CommandRunner.isRunnable($0, path: nil)
    }
    return missing.isEmpty ? nil : "not installed: \(missing.joined(separator: ", ")) (scripts/install-deps)"
}()

/// End to end with the real torpor-manager and torpor: `torpor flavor` and `torpor image` manage the catalog, `torpor
/// vc add --flavor --image` makes VMs with their own overlays and seed ISOs (real qemu-img and genisoimage), bad
/// input is refused naming it, and flavors and images keep their numeric ids across a manager restart.
@Suite(
    .serialized,
    .enabled(if: EndToEnd.runs(imageProgramsProblem), EndToEnd.reason(imageProgramsProblem)),
    .timeLimit(.minutes(10))
)
struct ImageCatalogEndToEndTests {

    typealias Tool = LargeListsEndToEndTests

    static func settings(_ directory: URL) -> String {
        """
        images:
          directory: \(directory.appendingPathComponent("vms").path)
          domain_type: test

        """
    }

    /// A manager on a fixed database in `directory`, answering once `torpor flavor list` does.
    static func startManager(_ directory: URL) async throws -> (BackgroundProcess, String) {
        let (manager, address) = try Tool.startManager(directory, settings: settings(directory))
        let up = await Tool.eventually(timeout: .seconds(60)) {
            try await Tool.torpor(["flavor", "list"], manager: address).succeeded
        }
        if !up { manager.kill() }
        try #require(up, "the manager never answered:\n\(manager.stderr)")
        return (manager, address)
    }

    static func jsonArray(_ output: ProcessOutput) throws -> [[String: Any]] {
        try #require(
            try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [[String: Any]],
            "not a JSON array: \(output)"
        )
    }

    @Test func theCatalogThroughTheCLI() async throws {
        try EndToEnd.require(imageProgramsProblem)
        let directory = try ProcessRunner.scratchDirectory(prefix: "torpor-images-e2e")
        defer { try? FileManager.default.removeItem(at: directory) }
        let base = directory.appendingPathComponent("debian.qcow2").path
        let made = try await ProcessRunner.run(["qemu-img", "create", "-q", "-f", "qcow2", base, "64M"])
        try #require(made.succeeded, "\(made)")
        let keyFile = directory.appendingPathComponent("id.pub")
        try "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2e alice@lab\n".write(to: keyFile, atomically: true, encoding: .utf8)

        var (manager, address) = try await Self.startManager(directory)
        // Whichever manager runs when the test ends.
        defer { manager.kill() }
        func torpor(_ arguments: String...) async throws -> ProcessOutput {
            try await Tool.torpor(arguments, manager: address)
        }

        let created = try await torpor("flavor", "create", "small", "--vcpus", "2", "--memory", "512M", "--json")
        try #require(created.succeeded, "\(created)")
        #expect(try Tool.json(created)["id"] as? Int == 1)
        #expect(try Tool.json(created)["memoryBytes"] as? Int == 512 << 20)
        #expect(
            try await torpor("flavor", "create", "large", "--vcpus", "8", "--memory", "8G", "--disk", "20G").succeeded
        )
        let duplicate = try await torpor("flavor", "create", "small", "--vcpus", "1", "--memory", "1G")
        #expect(duplicate.status == 1)
        #expect(duplicate.stderr.contains("a flavor named 'small' already exists"), "\(duplicate)")
        let badSize = try await torpor("flavor", "create", "odd", "--vcpus", "1", "--memory", "lots")
        #expect(badSize.status == 64, "\(badSize)")

        let added = try await torpor("image", "add", "debian", base, "--json")
        try #require(added.succeeded, "\(added)")
        #expect(try Tool.json(added)["format"] as? String == "qcow2")
        #expect(try Tool.json(added)["virtualSizeBytes"] as? Int == 64 << 20)
        let missing = try await torpor("image", "add", "gone", directory.appendingPathComponent("gone.img").path)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("does not exist"), "\(missing)")

        #expect(try await torpor("vc", "define", "web").succeeded)
        let vms = try await torpor(
            "vc",
            "add",
            "web",
            "--flavor",
            "small",
            "--image",
            "debian",
            "--count",
            "2",
            "--ssh-key",
            keyFile.path
        )
        try #require(vms.succeeded, "\(vms)\n\(manager.stderr.suffix(2000))")
        let info = try await torpor("vc", "info", "web", "--json")
        let listed = try #require(try Tool.json(info)["vms"] as? [[String: Any]])
        #expect(listed.compactMap { $0["name"] as? String } == ["web-1", "web-2"])
        #expect(Set(listed.compactMap { $0["mac"] as? String }).count == 2)
        #expect(listed.allSatisfy { $0["virtualCPUs"] as? Int == 2 })
        #expect(listed.allSatisfy { $0["flavor"] as? String == "small" && $0["image"] as? String == "debian" })
        let vmInfo = try await torpor("vm", "info", "web-1")
        #expect(vmInfo.stdout.contains("flavor small, image debian"), "\(vmInfo)")
        let overlays = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("vms").path)
        #expect(overlays.filter { $0.hasSuffix(".qcow2") }.count == 2)
        #expect(overlays.filter { $0.hasSuffix("-seed.iso") }.count == 2)
        // The key file's key reached each guest's seed.
        for seed in overlays.filter({ $0.hasSuffix("-seed.iso") }) {
            let iso = directory.appendingPathComponent("vms").appendingPathComponent(seed).path
            let userData = try await ProcessRunner.run(["isoinfo", "-R", "-i", iso, "-x", "/user-data"])
            #expect(userData.stdout.contains("\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2e alice@lab\""), "\(userData)")
        }

        let inUse = try await torpor("image", "remove", "debian")
        #expect(inUse.status == 1)
        #expect(inUse.stderr.contains("conflict: image 'debian' backs the overlays of VMs web-1, web-2"), "\(inUse)")

        // Restarted on the same database: the same ids, the same VMs.
        _ = await manager.terminate()
        (manager, address) = try await Self.startManager(directory)
        let flavors = try Self.jsonArray(try await torpor("flavor", "list", "--json"))
        #expect(flavors.map { "\($0["id"] as? Int ?? 0) \($0["name"] as? String ?? "")" } == ["1 small", "2 large"])
        let images = try Self.jsonArray(try await torpor("image", "list", "--json"))
        #expect(images.first?["id"] as? Int == 1)
        #expect(images.first?["vms"] as? Int == 2)

        // Removing the cluster removes the overlays; then the image can go.
        let undefined = try await torpor("vc", "undefine", "web")
        #expect(undefined.succeeded, "\(undefined)")
        let left = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("vms").path)
        #expect(left.isEmpty, "\(left)")
        #expect(try await torpor("image", "remove", "debian").succeeded)
        #expect(try await torpor("flavor", "delete", "small").succeeded)
        #expect(try await torpor("image", "list").stdout.isEmpty)
        #expect(FileManager.default.fileExists(atPath: base))
    }
}
