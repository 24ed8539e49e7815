import Foundation
import TestSupport
import Testing

/// End-to-end prerequisites (KVM, root, journald, systemd-socket-activate …) as visible skips, never as tests that
/// pass without checking. Each suite or test that needs one declares `.enabled(if: EndToEnd.runs(problem), …)` with
/// the problem as its reason, and calls `try EndToEnd.require(problem)` first.
///
/// Under `TORPOR_REQUIRE_E2E=1` (CI, `.ci/run`) nothing is skipped: the test runs, and `require` fails it naming the
/// missing piece. scripts/test counts the skips and, under the same variable, fails the run on any.
enum EndToEnd {
    static let required = ProcessInfo.processInfo.environment["TORPOR_REQUIRE_E2E"] == "1"

    /// Whether a test whose prerequisite has `problem` (nil: none) runs.
    static func runs(_ problem: String?) -> Bool { required || problem == nil }

    /// The skip's comment: what is missing.
    static func reason(_ problem: String?) -> Comment {
        Comment(rawValue: "SKIPPED end-to-end: \(problem ?? "prerequisites present")")
    }

    /// Throws, naming the missing prerequisite, when the test runs without it (only under TORPOR_REQUIRE_E2E).
    static func require(_ problem: String?) throws {
        if let problem { throw MissingPrerequisite(problem: problem) }
    }

    struct MissingPrerequisite: Error, CustomStringConvertible {
        var problem: String
        var description: String { "TORPOR_REQUIRE_E2E=1 but an end-to-end prerequisite is missing: \(problem)" }
    }

    /// Why scripts/with-journald would exit 77 (no private journald here), or nil.
    static let privateJournaldProblem: String? = {
        let journald = ProcessInfo.processInfo.environment["TORPOR_JOURNALD"] ?? "/lib/systemd/systemd-journald"
        guard FileManager.default.isExecutableFile(atPath: journald) else {
            return "\(journald) not found (apt-get install systemd)"
        }
        let unshare: (status: Int32, output: String)
        do {
            unshare = try ChildProcess.runBlocking(
                "/usr/bin/unshare",
                ["--mount", "--propagation", "private", "--pid", "--fork", "--mount-proc", "true"]
            )
        } catch {
            return "cannot run unshare: \(error)"
        }
        return unshare.status == 0 ? nil : "cannot unshare mount and PID namespaces here (needs root)"
    }()

    static let socketActivateProblem: String? =
        FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-socket-activate")
        ? nil : "/usr/bin/systemd-socket-activate not installed (apt-get install systemd)"
}
