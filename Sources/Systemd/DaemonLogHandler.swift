import Logging

/// The log handler a Torpor daemon bootstraps with: journald when its socket exists, otherwise stderr
/// (a development shell, a container, or a host without systemd).
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
