import Commands
import Foundation

/// What the catalog records of an image file: its format and sizes as `qemu-img info --output=json` reads them,
/// and its SHA-256.
public struct ImageFacts: Sendable, Equatable {
    public var format: String
    public var sizeBytes: Int64
    public var virtualSizeBytes: Int64
    public var sha256: String
}

/// Reads images and makes VMs' overlays with `qemu-img`, through `CommandRunner`: the programs run as child
/// processes awaited on swift-subprocess's monitor thread, so a slow one (a checksum of a large image on shared
/// storage) never holds a thread of the cooperative pool.
public struct ImageTools: Sendable {
    public var configuration: ImagesConfiguration

    public init(configuration: ImagesConfiguration) {
        self.configuration = configuration
    }

    static let formats = ["qcow2", "raw"]

    /// Checks that `path` is a qcow2 or raw image standing on its own, and reads its facts.
    public func inspect(_ path: String) async throws(ImageCatalogError) -> ImageFacts {
        guard path.hasPrefix("/") else { throw .notAbsolute(path) }
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        // Before the file is looked at, so a path outside the roots tells nothing about what is there.
        if !configuration.roots.isEmpty {
            let inside = configuration.roots.contains { root in
                let resolved = URL(fileURLWithPath: root).resolvingSymlinksInPath().path
                return target.hasPrefix(resolved.hasSuffix("/") ? resolved : resolved + "/")
            }
            guard inside else { throw .outsideRoots(path, roots: configuration.roots) }
        }
        guard FileManager.default.fileExists(atPath: path) else { throw .missing(path) }
        // Not a directory, device or FIFO: reading one could block or never end.
        let attributes = try? FileManager.default.attributesOfItem(atPath: target)
        guard attributes?[.type] as? FileAttributeType == .typeRegular else { throw .notAFile(path) }
        let info = try await run([configuration.qemuImg, "info", "--output=json", path], on: path) { reason in
            .notAnImage(path, reason: reason)
        }
        guard
            let object = try? JSONSerialization.jsonObject(with: Data(info.utf8)) as? [String: Any],
            let format = object["format"] as? String,
            let virtualSize = (object["virtual-size"] as? NSNumber)?.int64Value
        else {
            throw .notAnImage(path, reason: "qemu-img info printed no format and virtual-size")
        }
        guard Self.formats.contains(format) else { throw .unsupportedFormat(path, format: format) }
        if let backing = object["backing-filename"] as? String { throw .hasBackingFile(path, backing: backing) }
        let size = (attributes?[.size] as? NSNumber)?.int64Value ?? 0
        if format == "raw", size == 0 || size % 512 != 0 { throw .notWholeSectors(path, bytes: size) }
        let sum = try await run([configuration.checksum, "--", path], on: path) { reason in
            .commandFailed(program: configuration.checksum, path: path, reason: reason)
        }
        let digest = String(sum.prefix { !$0.isWhitespace })
        guard digest.count == 64, digest.allSatisfy(\.isHexDigit) else {
            throw .commandFailed(program: configuration.checksum, path: path, reason: "printed no SHA-256: \(sum)")
        }
        return ImageFacts(format: format, sizeBytes: size, virtualSizeBytes: virtualSize, sha256: digest.lowercased())
    }

    /// The image's SHA-256 now (to show a base file is unchanged).
    public func sha256(_ path: String) async throws(ImageCatalogError) -> String {
        let sum = try await run([configuration.checksum, "--", path], on: path) { reason in
            .commandFailed(program: configuration.checksum, path: path, reason: reason)
        }
        return String(sum.prefix { !$0.isWhitespace })
    }

    /// Makes a qcow2 overlay at `overlay` backed by `base` (of `format`), so the VM writes only its own file;
    /// `sizeBytes` grows the disk past the base's size (nil keeps it).
    public func createOverlay(
        _ overlay: String,
        base: String,
        format: String,
        sizeBytes: Int64?
    ) async throws(ImageCatalogError) {
        var argv = [configuration.qemuImg, "create", "-q", "-f", "qcow2", "-b", base, "-F", format, overlay]
        if let sizeBytes { argv.append(String(sizeBytes)) }
        _ = try await run(argv, on: overlay) { reason in
            .commandFailed(program: configuration.qemuImg, path: overlay, reason: reason)
        }
    }

    /// Removes files a VM owned; one already gone is not an error.
    public func remove(_ paths: [String]) async throws(ImageCatalogError) {
        let paths = paths.filter { !$0.isEmpty }
        guard !paths.isEmpty else { return }
        _ = try await run(["rm", "-f", "--"] + paths, on: paths.joined(separator: " ")) { reason in
            .commandFailed(program: "rm", path: paths.joined(separator: " "), reason: reason)
        }
    }

    /// Runs `argv` and returns what it printed; a failure becomes `failure(reason)`.
    func run(
        _ argv: [String],
        on path: String,
        failure: (String) -> ImageCatalogError
    ) async throws(ImageCatalogError) -> String {
        let outcome: CommandOutcome
        do {
            outcome = try await CommandRunner.run(argv, timeout: configuration.commandTimeout)
        } catch {
            throw .commandFailed(program: argv[0], path: path, reason: "\(error)")
        }
        switch outcome.termination {
        case .exited(0):
            return outcome.standardOutput
        case .exited(let status):
            let said = outcome.standardError.trimmingCharacters(in: .whitespacesAndNewlines)
            throw failure(said.isEmpty ? "exit status \(status)" : said)
        case .signalled(let signal):
            throw failure("killed by signal \(signal)")
        case .timedOut:
            throw failure("did not finish within \(configuration.commandTimeout)")
        }
    }
}
