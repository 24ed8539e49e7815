import Logging
import Synchronization

/// Log lines kept for a test to look at; each also goes to `echo` when that logger logs at trace level.
public final class CapturedLogs: Sendable {
    public struct Line: Sendable, CustomStringConvertible {
        public var level: Logger.Level
        public var message: String
        public var metadata: Logger.Metadata

        public var description: String { "\(level) \(message) \(metadata)" }
    }

    private let label: String
    private let echo: Logger?
    private let lines = Mutex<[Line]>([])

    public init(label: String, echo: Logger? = nil) {
        self.label = label
        self.echo = echo
    }

    /// A logger at debug level whose lines are kept here.
    public var logger: Logger {
        var logger = Logger(label: label) { _ in Handler(logs: self) }
        logger.logLevel = .debug
        return logger
    }

    public var all: [Line] { lines.withLock { $0 } }

    func record(_ line: Line) {
        lines.withLock { $0.append(line) }
        if let echo, echo.logLevel == .trace {
            echo.log(level: line.level, "\(line.message)", metadata: line.metadata)
        }
    }

    public func matching(_ message: String) -> [Line] {
        lines.withLock { $0.filter { $0.message.contains(message) } }
    }

    /// Polls until a line containing `message` was logged; nil after `timeout`.
    public func waitFor(_ message: String, timeout: Duration = .seconds(30)) async -> Line? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = matching(message).first { return line }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    private struct Handler: LogHandler {
        let logs: CapturedLogs
        var logLevel: Logger.Level = .debug
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
            logs.record(Line(level: event.level, message: event.message.description, metadata: merged))
        }
    }
}
