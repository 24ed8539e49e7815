import Commands
import Foundation

/// A short helper program the lab runs and waits for (`ip`, `sdrcomp`), through `Commands.CommandRunner`: the
/// program runs and is waited for off Swift's cooperative pool, and its stdout and stderr are read together, so
/// neither a slow program nor one that fills a pipe can hold a pool thread or deadlock the lab.
enum LabCommand {
    /// Runs `argv` (argv[0] a path or a name on PATH) and returns what it printed on stdout. Throws a LabError naming
    /// the command, how it ended and its stderr, when it cannot start, fails, or runs past `timeout`.
    static func output(_ argv: [String], timeout: Duration = .seconds(30)) async throws(LabError) -> String {
        let shown = argv.joined(separator: " ")
        let outcome: CommandOutcome
        do {
            outcome = try await CommandRunner.run(argv, timeout: timeout)
        } catch {
            throw LabError("cannot run \(shown): \(error)")
        }
        let message = outcome.standardError.trimmingCharacters(in: .whitespacesAndNewlines)
        let detail = message.isEmpty ? "" : ": \(message)"
        switch outcome.termination {
        case .exited(0): return outcome.standardOutput
        case .exited(let status): throw LabError("\(shown) failed (status \(status))\(detail)")
        case .signalled(let signal): throw LabError("\(shown) was killed by signal \(signal)\(detail)")
        case .timedOut: throw LabError("\(shown) did not finish within \(timeout) and was stopped\(detail)")
        }
    }
}
