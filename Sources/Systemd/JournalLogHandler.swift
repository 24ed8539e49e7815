import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A swift-log handler writing structured entries to journald, one sd_journal_sendv(3) call per entry.
///
/// Each entry carries `MESSAGE`, `PRIORITY`, `SYSLOG_IDENTIFIER`, `CODE_FILE`, `CODE_LINE`, `CODE_FUNC`,
/// `TORPOR_LOGGER` (the label) and one `TORPOR_<KEY>` field per metadata key (see
/// ``JournalFields/metadataField(for:)``), so `journalctl TORPOR_VM_NAME=web1` finds a VM's entries.
/// Written against swift-log 1.16, whose requirement is `log(event:)`.
///
/// The send blocks only while journald's socket buffer is full (journald overloaded), as a write to a
/// stderr pipe would. Entries are dropped silently if no journald listens: bootstrap through
/// ``makeDaemonLogHandler(label:identifier:)``, which checks ``isJournalAvailable``.
public struct JournalLogHandler: LogHandler {
    /// journald's native-protocol socket; sd_journal_sendv hard-codes this path.
    public static let socketPath = "/run/systemd/journal/socket"

    /// Whether journald listens on ``socketPath``. Without it entries would vanish silently.
    public static var isJournalAvailable: Bool {
        var info = stat()
        return stat(Self.socketPath, &info) == 0 && (info.st_mode & S_IFMT) == S_IFSOCK
    }

    public let label: String
    /// `SYSLOG_IDENTIFIER`, what `journalctl -t` selects on.
    public let identifier: String
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    /// - Parameters:
    ///   - identifier: `SYSLOG_IDENTIFIER`; defaults to the label. Daemons pass their program name so that
    ///     all their loggers share it and `TORPOR_LOGGER` tells them apart.
    public init(
        label: String,
        identifier: String? = nil,
        metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider
    ) {
        self.label = label
        self.identifier = identifier ?? label
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let entry = self.entry(for: event)
        do {
            try entry.send()
        } catch {
            // A logger cannot throw; stderr is what systemd captures when the native socket fails.
            let line = "\(self.identifier): \(error): \(event.level): \(event.message)\n"
            _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
        }
    }

    /// The journal fields for `event`; metadata merges as in StreamLogHandler: handler, provider, event, error.
    func entry(for event: LogEvent) -> JournalEntry {
        var entry = JournalEntry()
        entry.append(JournalFields.message, event.message.description)
        entry.append(JournalFields.priority, String(JournalFields.priority(for: event.level)))
        entry.append(JournalFields.syslogIdentifier, self.identifier)
        entry.append(JournalFields.codeFile, event.file)
        entry.append(JournalFields.codeLine, String(event.line))
        entry.append(JournalFields.codeFunction, event.function)
        entry.append(JournalFields.logger, self.label)

        var metadata = self.metadata
        if let provided = self.metadataProvider?.get(), !provided.isEmpty {
            metadata.merge(provided) { _, provided in provided }
        }
        if let explicit = event.metadata, !explicit.isEmpty {
            metadata.merge(explicit) { _, explicit in explicit }
        }
        if let error = event.error {
            metadata["error.message"] = "\(error)"
            metadata["error.type"] = "\(String(reflecting: type(of: error)))"
            if let error = error as? SystemdError {
                entry.append(JournalFields.errno, String(error.errno))
            }
        }
        for (key, value) in metadata {
            entry.append(JournalFields.metadataField(for: key), value.description)
        }
        return entry
    }
}
