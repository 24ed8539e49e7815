import Foundation
import Testing

@testable import TorporLab

/// The lab's helper programs (`ip`, `sdrcomp`) run through `LabCommand`: real programs, through /bin/sh.
@Suite(.timeLimit(.minutes(2)))
struct LabCommandTests {
    /// Before, the lab read a helper's stdout to its end and only then its stderr: a program that wrote more than a
    /// pipe holds (64 KiB) to stderr before closing stdout never finished, and neither did the lab.
    @Test func aProgramFillingStderrBeforeStdoutFinishes() async throws {
        let output = try await LabCommand.output([
            "/bin/sh", "-c", "head -c 262144 /dev/zero | tr '\\0' x >&2; echo done",
        ])
        #expect(output == "done\n")
    }

    @Test func aFailureNamesTheCommandItsStatusAndItsStderr() async throws {
        do {
            _ = try await LabCommand.output(["/bin/sh", "-c", "echo 'Cannot find device \"tlb1\"' >&2; exit 2"])
            Issue.record("a failing command returned")
        } catch {
            #expect(error.description.contains("/bin/sh -c"), "\(error)")
            #expect(error.description.contains("status 2"), "\(error)")
            #expect(error.description.contains("Cannot find device \"tlb1\""), "\(error)")
        }
    }

    @Test func aMissingProgramIsNamed() async throws {
        do {
            _ = try await LabCommand.output(["/nonexistent/torpor-lab-helper", "x"])
            Issue.record("a missing program ran")
        } catch {
            #expect(error.description.contains("cannot run /nonexistent/torpor-lab-helper x"), "\(error)")
        }
    }

    @Test func aProgramPastItsTimeoutIsStopped() async throws {
        do {
            _ = try await LabCommand.output(["/bin/sh", "-c", "sleep 60"], timeout: .milliseconds(300))
            Issue.record("sleep 60 returned")
        } catch {
            #expect(error.description.contains("did not finish within"), "\(error)")
        }
    }
}
