import Logging

/// Where a Torpor daemon's logs go (`log:` in its configuration, `--log` on its command line).
public enum LogDestination: String, Sendable, CaseIterable {
    /// journald when its socket exists, otherwise stderr (a development shell, a container, no systemd).
    case auto
    case journal
    case stderr

    /// The handler for one logger.
    public func makeHandler(label: String, identifier: String) -> any LogHandler {
        switch self {
        case .journal: JournalLogHandler(label: label, identifier: identifier)
        case .stderr: StreamLogHandler.standardError(label: label)
        case .auto: makeDaemonLogHandler(label: label, identifier: identifier)
        }
    }

    /// Bootstraps swift-log once for the whole process.
    public func bootstrap(identifier: String) {
        LoggingSystem.bootstrap { label in self.makeHandler(label: label, identifier: identifier) }
    }
}

/// The log handler a Torpor daemon bootstraps with by default: journald when its socket exists, otherwise stderr.
///
/// ```swift
/// LoggingSystem.bootstrap { label in makeDaemonLogHandler(label: label, identifier: "torpor-agent") }
/// ```
public func makeDaemonLogHandler(label: String, identifier: String? = nil) -> any LogHandler {
    if JournalLogHandler.isJournalAvailable {
        return JournalLogHandler(label: label, identifier: identifier)
    }
    return StreamLogHandler.standardError(label: label)
}
