import Foundation

/// How the driver talks to a server or agents process: the process prints `ready …` / `connected …` lines, answers
/// each `stats` line on stdin with one `stats …` line, and exits when stdin closes. stdin is read on its own thread
/// (a blocking read), never on the cooperative pool.
public enum ControlChannel {
    /// Prints `line` and flushes at once (the driver waits for it).
    public static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Answers `stats` with `stats()` until stdin closes, then runs `onClose` (stopping the process's own
    /// children) and exits the process. A server given `settle` answers `settle N` with `settled …` once it has
    /// taken in N agents' joins (`settle` blocks this thread until then). Agents given `stop` answer `stop` with
    /// `stopped …` once they have stopped sending.
    public static func serve(
        stats: @escaping @Sendable () -> String,
        settle: (@Sendable (Int) -> String)? = nil,
        stop: (@Sendable () -> String)? = nil,
        onClose: @escaping @Sendable () -> Void = {}
    ) {
        let thread = Thread {
            while let line = readLine() {
                if line == "stats" { say("stats " + stats()) }
                if let stop, line == "stop" { say("stopped " + stop()) }
                if let settle, line.hasPrefix("settle "), let agents = Int(line.dropFirst(7)) {
                    say("settled " + settle(agents))
                }
            }
            onClose()
            exit(0)
        }
        thread.start()
    }

    /// A parsed `--name value` option; nil if absent.
    public static func option(_ name: String, in arguments: [String]) -> String? {
        guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
        return arguments[index + 1]
    }
}
