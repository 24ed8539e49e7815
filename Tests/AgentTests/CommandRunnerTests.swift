import Commands
import Foundation
import Testing

@testable import Agent

@Suite struct CommandRunnerTests {
    /// A stand-in for `systemctl suspend`: records its arguments, prints to stderr, exits with $EXIT.
    static func recordingScript() throws -> (script: String, record: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("torpor-cmd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let record = directory.appendingPathComponent("calls").path
        let script = directory.appendingPathComponent("record-power").path
        try """
        #!/bin/sh
        printf '%s\\n' "$*" >> \(record)
        echo "simulated stderr for $1" >&2
        [ -n "$SLEEP" ] && sleep "$SLEEP"
        exit ${EXIT:-0}
        """.writeExecutable(to: script)
        return (script, record)
    }

    @Test func runsWithoutShellAndCapturesStderrAndStatus() async throws {
        let (script, record) = try Self.recordingScript()
        // An argument with shell metacharacters must arrive verbatim: no shell in between.
        let outcome = try await CommandRunner.run([script, "suspend", "$(touch /tmp/x); *"], timeout: .seconds(120))
        #expect(outcome.succeeded)
        #expect(outcome.standardError == "simulated stderr for suspend\n")
        #expect(try String(contentsOfFile: record, encoding: .utf8) == "suspend $(touch /tmp/x); *\n")

        var environment = ProcessInfo.processInfo.environment
        environment["EXIT"] = "3"
        let failed = try await CommandRunner.run([script, "hibernate"], timeout: .seconds(120), environment: environment)
        #expect(failed.termination == .exited(3))
    }

    @Test func timeoutKillsTheProgram() async throws {
        let (script, _) = try Self.recordingScript()
        var environment = ProcessInfo.processInfo.environment
        environment["SLEEP"] = "600"
        let started = ContinuousClock.now
        let outcome = try await CommandRunner.run(
            [script, "poweroff"],
            timeout: .milliseconds(300),
            environment: environment
        )
        #expect(outcome.termination == .timedOut)
        // Stopped at its timeout, not after 600 s; generous for a loaded machine and a busy test process.
        #expect(ContinuousClock.now - started < .seconds(120))
    }

    /// A program still open for writing cannot be executed (ETXTBSY): a script written while another thread forked
    /// is, until that child execs. The runner tries again briefly; past that it names the program and the reason.
    @Test func aProgramBusyForWritingIsRetriedThenNamed() async throws {
        let (script, record) = try Self.recordingScript()
        let writer = open(script, O_WRONLY | O_CLOEXEC)
        try #require(writer >= 0)
        let closing = Task {
            try await Task.sleep(for: .milliseconds(150))
            close(writer)
        }
        let outcome = try await CommandRunner.run([script, "suspend"], timeout: .seconds(120))
        try await closing.value
        #expect(outcome.succeeded, "\(outcome)")
        #expect(try String(contentsOfFile: record, encoding: .utf8) == "suspend\n")

        let held = open(script, O_WRONLY | O_CLOEXEC)
        try #require(held >= 0)
        defer { close(held) }
        let error = try await #require(throws: CommandRunnerError.self) {
            try await CommandRunner.run([script, "hibernate"], timeout: .seconds(120))
        }
        #expect("\(error)".contains("cannot start '\(script)'") && "\(error)".contains("Text file busy"), "\(error)")
        #expect(try String(contentsOfFile: record, encoding: .utf8) == "suspend\n", "the busy program ran")
    }

    @Test func missingProgramIsNamed() async throws {
        let error = try await #require(throws: CommandRunnerError.self) {
            try await CommandRunner.run(["no-such-power-tool-xyz", "x"], timeout: .seconds(1))
        }
        #expect(error == .notFound("no-such-power-tool-xyz"))
    }
}
