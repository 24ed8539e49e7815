import Foundation

/// Which configuration file a daemon reads: the one named on the command line (which must exist), else the
/// default path when it exists, else none (built-in defaults).
public func configurationFile(explicit: String?, defaultPath: String) -> String? {
    if let explicit { return explicit }
    return FileManager.default.fileExists(atPath: defaultPath) ? defaultPath : nil
}

/// A duration given as a flag (`--sample-interval 500ms`), at least `minimum`.
public func durationFlag(_ name: String, _ text: String, minimum: Duration = .milliseconds(100)) throws -> Duration {
    guard let value = ConfigSection.parseDuration(text), value >= minimum else {
        let (seconds, attoseconds) = minimum.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        throw ConfigError.flag(name, "'\(text)' is not a duration of at least \(milliseconds)ms (e.g. 3s, 500ms)")
    }
    return value
}
