import Foundation
import Testing

@testable import Manager

/// The catalog's programs run for real: qemu-img reads and makes images, sha256sum sums them, genisoimage writes
/// seed ISOs that isoinfo reads back.
@Suite(.enabled(if: ImagePrograms.runs, ImagePrograms.reason), .timeLimit(.minutes(5)))
struct ImageToolsTests {
    static let tools = ImageTools(configuration: ImagesConfiguration())

    @Test func readsAQcow2ImagesFormatSizesAndChecksum() async throws {
        try ImagePrograms.require()
        let scratch = try ImageScratch()
        defer { scratch.remove() }
        let file = try await scratch.qcow2("base.qcow2", megabytes: 64)
        let facts = try await Self.tools.inspect(file)
        #expect(facts.format == "qcow2")
        #expect(facts.virtualSizeBytes == 64 << 20)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)
        #expect(facts.sizeBytes == size.int64Value)
        #expect(facts.sha256 == (try await ImageScratch.sha256(file)))
    }

    @Test func readsARawImage() async throws {
        try ImagePrograms.require()
        let scratch = try ImageScratch()
        defer { scratch.remove() }
        let file = try scratch.raw("disk.img", megabytes: 4)
        let facts = try await Self.tools.inspect(file)
        #expect(facts.format == "raw")
        #expect(facts.virtualSizeBytes == 4 << 20)
        #expect(facts.sizeBytes == 4 << 20)
        #expect(facts.sha256 == (try await ImageScratch.sha256(file)))
    }

    @Test func refusesWhatIsNotAnImageNamingIt() async throws {
        try ImagePrograms.require()
        let scratch = try ImageScratch()
        defer { scratch.remove() }
        let text = scratch.path("notes.txt")
        try "not a disk\n".write(toFile: text, atomically: true, encoding: .utf8)
        await #expect(throws: ImageCatalogError.notWholeSectors(text, bytes: 11)) {
            try await Self.tools.inspect(text)
        }
        await #expect(throws: ImageCatalogError.missing(scratch.path("gone.qcow2"))) {
            try await Self.tools.inspect(scratch.path("gone.qcow2"))
        }
        await #expect(throws: ImageCatalogError.notAFile(scratch.directory)) {
            try await Self.tools.inspect(scratch.directory)
        }
        await #expect(throws: ImageCatalogError.notAbsolute("base.qcow2")) {
            try await Self.tools.inspect("base.qcow2")
        }
        let vmdk = scratch.path("disk.vmdk")
        try await ImageScratch.run(["qemu-img", "create", "-q", "-f", "vmdk", vmdk, "1M"])
        await #expect(throws: ImageCatalogError.unsupportedFormat(vmdk, format: "vmdk")) {
            try await Self.tools.inspect(vmdk)
        }
        let base = try await scratch.qcow2("base.qcow2")
        let overlay = scratch.path("overlay.qcow2")
        try await Self.tools.createOverlay(overlay, base: base, format: "qcow2", sizeBytes: nil)
        await #expect(throws: ImageCatalogError.hasBackingFile(overlay, backing: base)) {
            try await Self.tools.inspect(overlay)
        }
        #expect(
            ImageCatalogError.notWholeSectors(text, bytes: 11).description
                == "\(text) is not a raw disk image: its 11 bytes are not whole 512-byte sectors"
        )
    }

    /// Writes go to the overlay: the base's checksum is the same after a guest-like write through it.
    @Test func anOverlayKeepsItsBaseUnchanged() async throws {
        try ImagePrograms.require()
        let scratch = try ImageScratch()
        defer { scratch.remove() }
        let base = try await scratch.qcow2("base.qcow2", megabytes: 32)
        let before = try await ImageScratch.sha256(base)
        let overlay = scratch.path("vm-1.qcow2")
        try await Self.tools.createOverlay(overlay, base: base, format: "qcow2", sizeBytes: 64 << 20)
        let info = try await ImageScratch.info(overlay)
        #expect(info["format"] as? String == "qcow2")
        #expect(info["backing-filename"] as? String == base)
        #expect(info["backing-filename-format"] as? String == "qcow2")
        #expect((info["virtual-size"] as? NSNumber)?.int64Value == 64 << 20)
        try await ImageScratch.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0xc3 0 2M", overlay])
        // The overlay reads back what was written; the base still holds its own pattern.
        try await ImageScratch.run(["qemu-io", "-f", "qcow2", "-c", "read -P 0xc3 0 2M", overlay])
        try await ImageScratch.run(["qemu-io", "-f", "qcow2", "-c", "read -P 0x5a 0 1M", base])
        #expect(try await ImageScratch.sha256(base) == before)

        let rawBase = try scratch.raw("raw.img")
        try await Self.tools.createOverlay(scratch.path("vm-2.qcow2"), base: rawBase, format: "raw", sizeBytes: nil)
        #expect(try await ImageScratch.info(scratch.path("vm-2.qcow2"))["backing-filename-format"] as? String == "raw")
    }

    @Test func anOverlayOfAMissingBaseFailsNamingIt() async throws {
        try ImagePrograms.require()
        let scratch = try ImageScratch()
        defer { scratch.remove() }
        let overlay = scratch.path("vm.qcow2")
        do {
            try await Self.tools.createOverlay(
                overlay,
                base: scratch.path("gone.qcow2"),
                format: "qcow2",
                sizeBytes: nil
            )
            Issue.record("an overlay of a missing base was made")
        } catch {
            #expect("\(error)".contains("qemu-img failed on \(overlay)"))
            #expect("\(error)".contains("gone.qcow2"))
        }
    }

    /// Every file on the ISO, read back with isoinfo, is the seed's, under the label cloud-init looks for.
    @Test func theSeedISOHoldsEveryFileUnderTheCidataLabel() async throws {
        try ImagePrograms.require()
        let scratch = try ImageScratch()
        defer { scratch.remove() }
        var seed = NoCloudSeedTests.seed
        seed.extraFiles = ["vc-out.xml": "<vc><frontend fqdn=\"web-1\"/></vc>\n"]
        let iso = scratch.path("seed.iso")
        try await SeedISOBuilder(tools: Self.tools).build(seed, at: iso)
        #expect(try await ImageScratch.volumeID(iso) == "cidata")
        let files = try await ImageScratch.isoFiles(iso)
        #expect(Set(files.keys) == ["meta-data", "user-data", "network-config", "vc-out.xml"])
        for file in seed.files {
            #expect(files[file.name] == file.contents, "\(file.name)")
        }
        // No staging directory is left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.directory) == ["seed.iso"])
    }

    @Test func removingFilesIgnoresOnesAlreadyGone() async throws {
        try ImagePrograms.require()
        let scratch = try ImageScratch()
        defer { scratch.remove() }
        let file = try scratch.raw("a.img", megabytes: 1)
        try await Self.tools.remove([file, scratch.path("never-made.iso"), ""])
        #expect(!FileManager.default.fileExists(atPath: file))
    }
}
