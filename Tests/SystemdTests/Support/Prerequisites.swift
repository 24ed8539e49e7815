import Foundation
import TestSupport

/// What the end-to-end tests need from the machine; a missing piece skips them with the reason shown, except under
/// `TORPOR_REQUIRE_E2E=1` (CI): then the test runs and `require` fails it naming the missing piece.
enum Prerequisites {
    static let required = ProcessInfo.processInfo.environment["TORPOR_REQUIRE_E2E"] == "1"

    /// Whether a test needing a prerequisite that is `present` runs.
    static func runs(_ present: Bool) -> Bool { required || present }

    /// Throws, naming `what`, when the test runs without it (only under TORPOR_REQUIRE_E2E).
    static func require(_ present: Bool, _ what: String) throws {
        if !present { throw MissingPrerequisite(what: what) }
    }

    struct MissingPrerequisite: Error, CustomStringConvertible {
        var what: String
        var description: String { "TORPOR_REQUIRE_E2E=1 but an end-to-end prerequisite is missing: \(what)" }
    }

    /// `scripts/with-journald` needs root for mount and PID namespaces, and systemd-journald.
    static let privateJournald: Bool = {
        FileManager.default.isExecutableFile(atPath: "/lib/systemd/systemd-journald")
            && succeeds([
                "/usr/bin/unshare", "--mount", "--propagation", "private", "--pid", "--fork",
                "--mount-proc", "true",
            ])
    }()

    static let systemdSocketActivate = FileManager.default.isExecutableFile(atPath: systemdSocketActivatePath)
    static let systemdSocketActivatePath = "/usr/bin/systemd-socket-activate"

    static let systemdAnalyze = FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze")

    private static func succeeds(_ arguments: [String]) -> Bool {
        (try? ChildProcess.runBlocking(arguments[0], Array(arguments.dropFirst())))?.status == 0
    }
}
