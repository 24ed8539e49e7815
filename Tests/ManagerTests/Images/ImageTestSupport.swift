import Commands
import Foundation
import Testing

@testable import Manager

/// The Debian programs the image tests run for real (scripts/install-deps installs them). A missing one is a
/// visible skip, and a failure under TORPOR_REQUIRE_E2E=1.
enum ImagePrograms {
    static let required = ProcessInfo.processInfo.environment["TORPOR_REQUIRE_E2E"] == "1"

    static let problem: String? = {
        let missing = [
            ("qemu-img", "qemu-utils"), ("qemu-io", "qemu-utils"), ("genisoimage", "genisoimage"),
            ("isoinfo", "genisoimage"), ("sha256sum", "coreutils"), ("python3", "python3"),
        ].filter { !CommandRunner.isRunnable($0.0, path: nil) }
        guard !missing.isEmpty else { return nil }
        return "not installed: " + missing.map { "\($0.0) (apt-get install \($0.1))" }.joined(separator: ", ")
    }()

    /// Whether a test needing them runs: always under TORPOR_REQUIRE_E2E=1, where `require` then fails it.
    static var runs: Bool { required || problem == nil }

    static var reason: Comment { Comment(rawValue: "SKIPPED: \(problem ?? "image programs present")") }

    static func require() throws {
        if let problem { throw MissingProgram(problem: problem) }
    }

    struct MissingProgram: Error, CustomStringConvertible {
        var problem: String
        var description: String { "the image tests need programs that are missing: \(problem)" }
    }
}

/// A scratch directory with helpers that run the real programs.
struct ImageScratch {
    let directory: String

    init() throws {
        directory =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("torpor-images-\(UUID().uuidString.lowercased())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    func path(_ name: String) -> String { "\(directory)/\(name)" }

    /// A libvirt test-driver node of its own: test:///default is shared by every test in the process (all test
    /// targets run in one), and another test's domains must not meet these.
    func privateNodeURI() throws -> String {
        let node = path("node.xml")
        try """
        <node>
          <cpu><mhz>2400</mhz><model>x86_64</model><nodes>1</nodes><sockets>1</sockets><cores>4</cores>
            <threads>1</threads><active>4</active></cpu>
          <memory>8388608</memory>
        </node>

        """.write(toFile: node, atomically: true, encoding: .utf8)
        return "test://\(node)"
    }

    /// Runs a program, failing the test with its output when it fails; returns what it printed.
    @discardableResult
    static func run(_ argv: [String]) async throws -> String {
        let outcome = try await CommandRunner.run(argv, timeout: .seconds(120))
        guard outcome.succeeded else {
            throw ProgramFailed(argv: argv, outcome: outcome)
        }
        return outcome.standardOutput
    }

    struct ProgramFailed: Error, CustomStringConvertible {
        var argv: [String]
        var outcome: CommandOutcome
        var description: String { "\(argv.joined(separator: " ")): \(outcome.termination) \(outcome.standardError)" }
    }

    /// A qcow2 image of `megabytes` with a pattern written at its start, so it has content to protect.
    func qcow2(_ name: String, megabytes: Int = 64) async throws -> String {
        let file = path(name)
        try await Self.run(["qemu-img", "create", "-q", "-f", "qcow2", file, "\(megabytes)M"])
        try await Self.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 0 1M", file])
        return file
    }

    /// A raw image of `megabytes` filled with a byte.
    func raw(_ name: String, megabytes: Int = 4) throws -> String {
        let file = path(name)
        try Data(repeating: 0x42, count: megabytes << 20).write(to: URL(fileURLWithPath: file))
        return file
    }

    /// SHA-256 by Python's hashlib: another implementation than the manager's sha256sum.
    static func sha256(_ file: String) async throws -> String {
        try await run([
            "python3", "-c",
            "import hashlib,sys;print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())", file,
        ]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `qemu-img info --output=json` of a file, parsed.
    static func info(_ file: String) async throws -> [String: Any] {
        let json = try await run(["qemu-img", "info", "--output=json", "-U", file])
        return try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    /// The files on an ISO (Rock Ridge names), each with its contents, read back with isoinfo.
    static func isoFiles(_ iso: String) async throws -> [String: String] {
        let listing = try await run(["isoinfo", "-R", "-f", "-i", iso])
        var files: [String: String] = [:]
        for line in listing.split(separator: "\n") where !line.isEmpty {
            let name = String(line)
            files[String(name.drop { $0 == "/" })] = try await run(["isoinfo", "-R", "-i", iso, "-x", name])
        }
        return files
    }

    /// The ISO's volume id, from `isoinfo -d`.
    static func volumeID(_ iso: String) async throws -> String? {
        let description = try await run(["isoinfo", "-d", "-i", iso])
        return description.split(separator: "\n").first { $0.hasPrefix("Volume id:") }
            .map { $0.dropFirst("Volume id:".count).trimmingCharacters(in: .whitespaces) }
    }
}
