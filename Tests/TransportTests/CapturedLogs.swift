import Logging
import Synchronization

/// Log lines kept for a test to look at; also printed to stderr when TORPOR_TEST_LOG is set.
final class CapturedLogs: Sendable {
    struct Line: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: Logger.Metadata
    }

    private let lines = Mutex<[Line]>([])

    var logger: Logger {
        var logger = Logger(label: "torpor.transport.tests") { _ in Handler(logs: self) }
        logger.logLevel = .debug
        return logger
    }

    func record(_ line: Line) {
        lines.withLock { $0.append(line) }
        if testLogger.logLevel == .trace {
            testLogger.log(level: line.level, "\(line.message)", metadata: line.metadata)
        }
    }

    func matching(_ message: String) -> [Line] {
        lines.withLock { $0.filter { $0.message.contains(message) } }
    }

    /// Polls until a line containing `message` was logged; nil after `timeout`.
    func waitFor(_ message: String, timeout: Duration = .seconds(30)) async -> Line? {
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
