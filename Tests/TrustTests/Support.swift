import Foundation
import TestSupport
import Testing

/// A fresh directory under the temporary directory, removed by the caller's `defer`.
func temporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("torpor-trust-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Debian's `openssl` CLI, the cross-check for what `torpor ca` writes; missing, its tests skip, except under
/// TORPOR_REQUIRE_E2E=1 (CI) where they run and fail naming it.
enum OpenSSL {
    static let path = "/usr/bin/openssl"
    static let present = FileManager.default.isExecutableFile(atPath: path)
    static let runs = present || ProcessInfo.processInfo.environment["TORPOR_REQUIRE_E2E"] == "1"

    struct Missing: Error, CustomStringConvertible {
        var description: String { "TORPOR_REQUIRE_E2E=1 but \(OpenSSL.path) is missing (scripts/install-deps: openssl)" }
    }

    /// Runs openssl; returns its exit status and its stdout and stderr together.
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        guard present else { throw Missing() }
        return try ChildProcess.runBlocking(path, arguments)
    }
}
