import Commands
import Foundation
import Testing

@testable import Manager

/// xorriso, if present, or the reason it is not (scripts/install-deps installs it).
private let xorrisoProblem: String? =
    CommandRunner.isRunnable("xorriso", path: nil) ? nil : "not installed: xorriso (apt-get install xorriso)"

/// `images.iso_builder: xorriso`: the seed ISO made by `xorriso -as mkisofs` instead of genisoimage reads back the
/// same (isoinfo), labelled `cidata`, with every file and its contents as written.
@Suite(
    .enabled(
        if: ImagePrograms.required || (ImagePrograms.problem == nil && xorrisoProblem == nil),
        Comment(rawValue: "SKIPPED: \(ImagePrograms.problem ?? xorrisoProblem ?? "")")
    )
)
struct SeedISOXorrisoTests {
    @Test func xorrisoWritesTheSameSeed() async throws {
        try ImagePrograms.require()
        if let xorrisoProblem { throw ImagePrograms.MissingProgram(problem: xorrisoProblem) }
        let scratch = try ImageScratch()
        defer { scratch.remove() }
        var configuration = ImagesConfiguration()
        configuration.isoBuilder = "xorriso"
        var seed = NoCloudSeedTests.seed
        seed.extraFiles = ["vc-out.xml": "<vc>\n  <compute>\n    <private fqdn=\"compute-0\"/>\n  </compute>\n</vc>\n"]
        let iso = scratch.path("seed.iso")
        try await SeedISOBuilder(tools: ImageTools(configuration: configuration)).build(seed, at: iso)
        #expect(try await ImageScratch.volumeID(iso) == "cidata")
        let files = try await ImageScratch.isoFiles(iso)
        #expect(Set(files.keys) == ["meta-data", "user-data", "network-config", "vc-out.xml"])
        for file in seed.files {
            #expect(files[file.name] == file.contents, "\(file.name)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.directory) == ["seed.iso"])
    }
}
