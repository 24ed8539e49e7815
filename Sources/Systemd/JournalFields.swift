import Logging

/// journald field names used by Torpor, and the mapping of swift-log metadata keys onto them.
///
/// A field name is 1–64 characters of `A-Z`, `0-9` and `_`, not starting with a digit or `_` (names with a
/// leading `_` are trusted fields that only journald may set). journald drops invalid names silently.
enum JournalFields {
    static let message = "MESSAGE"
    static let priority = "PRIORITY"
    static let syslogIdentifier = "SYSLOG_IDENTIFIER"
    static let codeFile = "CODE_FILE"
    static let codeLine = "CODE_LINE"
    static let codeFunction = "CODE_FUNC"
    static let errno = "ERRNO"
    /// The swift-log label of the logger that emitted the entry.
    static let logger = "TORPOR_LOGGER"
    /// Prefix of every metadata field; also keeps them clear of journald's own names.
    static let metadataPrefix = "TORPOR_"
    static let maximumNameLength = 64

    /// `vm.name` → `TORPOR_VM_NAME`: upper-cased, anything outside `[A-Z0-9_]` becomes `_`, cut to 64. Torpor's
    /// own keys already start with `torpor.`; that prefix is dropped so `torpor.host` is `TORPOR_HOST`.
    ///
    /// Different keys may map to the same field (`vm.name`, `vm_name`); journald then keeps both values.
    static func metadataField(for key: String) -> String {
        var name = Self.metadataPrefix
        let key = key.hasPrefix("torpor.") ? String(key.dropFirst("torpor.".count)) : key
        for scalar in key.unicodeScalars {
            guard name.utf8.count < Self.maximumNameLength else { break }
            switch scalar {
            case "A"..."Z", "0"..."9", "_":
                name.unicodeScalars.append(scalar)
            case "a"..."z":
                name.unicodeScalars.append(Unicode.Scalar(scalar.value - 0x20)!)
            default:
                name.unicodeScalars.append("_")
            }
        }
        return name
    }

    /// syslog priorities (`LOG_DEBUG` 7 … `LOG_CRIT` 2); swift-log has no level for 1 and 0.
    static func priority(for level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}
