import Foundation

/// Writes a `NoCloudSeed` as an ISO 9660 image labelled `cidata` (Rock Ridge and Joliet, so the file names stay as
/// written) with `genisoimage` or `xorriso -as mkisofs`, run through `CommandRunner`.
public struct SeedISOBuilder: Sendable {
    public var tools: ImageTools

    public init(tools: ImageTools) {
        self.tools = tools
    }

    /// The volume label cloud-init's NoCloud source looks for.
    public static let volumeLabel = "cidata"

    public func build(_ seed: NoCloudSeed, at path: String) async throws(ImageCatalogError) {
        let staging = URL(fileURLWithPath: path).deletingLastPathComponent()
            .appendingPathComponent(".seed-\(UUID().uuidString.lowercased())")
        // A few kilobytes into the same directory as the ISO: cheap next to the program run below.
        var files: [String] = []
        do {
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
            for file in seed.files {
                let url = staging.appendingPathComponent(file.name)
                try Data(file.contents.utf8).write(to: url)
                files.append(url.path)
            }
        } catch {
            try? FileManager.default.removeItem(at: staging)
            throw .commandFailed(program: "write", path: staging.path, reason: "\(error)")
        }
        defer { try? FileManager.default.removeItem(at: staging) }
        var argv = [tools.configuration.isoBuilder]
        if URL(fileURLWithPath: tools.configuration.isoBuilder).lastPathComponent == "xorriso" {
            argv += ["-as", "mkisofs"]
        }
        argv += ["-quiet", "-input-charset", "utf-8", "-output", path, "-volid", Self.volumeLabel, "-joliet", "-rock"]
        argv += files
        _ = try await tools.run(argv, on: path) { reason in
            .commandFailed(program: tools.configuration.isoBuilder, path: path, reason: reason)
        }
    }
}
