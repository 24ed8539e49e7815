import Foundation
import TestSupport
import Testing

extension SystemdSuite {
    /// Runs the environment-changing suites (`OwnProcess.suites`) in a child of this test binary and checks that
    /// every one of them ran there, and that nothing in them failed or was skipped.
    @Suite(.disabled(if: OwnProcess.isChild, "this is the child it starts")) struct OwnProcessTests {
        @Test func environmentChangingSuitesPassInAChildOfThisBinary() async throws {
            let directory = try TemporaryDirectory("own-process")
            defer { directory.remove() }
            let binary =
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                ?? CommandLine.arguments[0]
            let filter = "SystemdSuite/(\(OwnProcess.suites.joined(separator: "|")))/"
            let run = try await ChildProcess.run(
                [binary, "--testing-library", "swift-testing", "--filter", filter],
                environment: TestChild.environment(role: OwnProcess.role),
                outputPath: directory.file("output"),
                timeout: .seconds(300)
            )
            let output = run.output
            #expect(run.status == 0, "the environment-changing suites failed in their own process:\n\(output)")
            for suite in OwnProcess.suites {
                #expect(
                    output.contains("Suite \(suite) passed"),
                    "\(suite) did not pass in its own process:\n\(output)"
                )
            }
            let lines = output.split(separator: "\n")
            let skipped = lines.filter { $0.contains(" skipped: ") || $0.hasSuffix(" skipped.") }
            #expect(skipped.isEmpty, "skipped in the child:\n\(skipped.joined(separator: "\n"))\n\(output)")
            let failed = lines.filter { $0.contains(" failed after ") || $0.contains(" recorded an issue") }
            #expect(failed.isEmpty, "failed in the child:\n\(failed.joined(separator: "\n"))\n\(output)")
        }
    }
}
