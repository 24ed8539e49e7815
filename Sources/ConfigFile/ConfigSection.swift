import Foundation
import Yams

/// One YAML mapping read strictly. Every accessor records the key it read; `rejectUnknownKeys()` then
/// fails on the first key nobody asked for, with a suggestion when it looks like a typo.
public final class ConfigSection {
    public let file: String
    public let path: String
    private let entries: [(key: String, value: Node, line: Int?)]
    private var known: Set<String> = []
    private var children: [ConfigSection] = []

    /// Parses a whole file's text. An empty file is an empty mapping.
    public convenience init(yaml: String, file: String) throws {
        let node: Node?
        do {
            // No tag resolution (.basic): every accessor reads a scalar's text itself, and the default resolver
            // compiles regular expressions through ICU, whose pages then stay resident in every daemon.
            node = try Yams.compose(yaml: yaml, .basic)
        } catch let error as YamlError {
            throw ConfigError(file: file, line: nil, key: "", problem: "not valid YAML: \(error)")
        }
        guard let node else {
            self.init(file: file, path: "", entries: [])
            return
        }
        guard case .mapping(let mapping) = node else {
            throw ConfigError(
                file: file,
                line: node.mark?.line,
                key: "",
                problem: "the top level must be a mapping of keys"
            )
        }
        try self.init(file: file, path: "", mapping: mapping)
    }

    /// Reads a file; a missing file is an error naming it.
    public convenience init(contentsOf file: String) throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ConfigError(file: file, line: nil, key: "", problem: "cannot read the file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: file, line: nil, key: "", problem: "the file is not UTF-8")
        }
        try self.init(yaml: text, file: file)
    }

    private convenience init(file: String, path: String, mapping: Node.Mapping) throws {
        var entries: [(String, Node, Int?)] = []
        var seen: Set<String> = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.string else {
                throw ConfigError(file: file, line: keyNode.mark?.line, key: path, problem: "keys must be strings")
            }
            let full = path.isEmpty ? key : "\(path).\(key)"
            guard seen.insert(key).inserted else {
                throw ConfigError(file: file, line: keyNode.mark?.line, key: full, problem: "appears twice")
            }
            entries.append((key, value, keyNode.mark?.line))
        }
        self.init(file: file, path: path, entries: entries)
    }

    private init(file: String, path: String, entries: [(key: String, value: Node, line: Int?)]) {
        self.file = file
        self.path = path
        self.entries = entries
    }

    private func fullKey(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private func entry(_ key: String) -> (value: Node, line: Int?)? {
        known.insert(key)
        guard let found = entries.first(where: { $0.key == key }) else { return nil }
        if case .scalar(let scalar) = found.value,
            scalar.string == "~" || scalar.string == "null" || scalar.string.isEmpty,
            scalar.style == .plain
        {
            return nil
        }
        return (found.value, found.line)
    }

    private func fail(_ key: String, _ line: Int?, _ problem: String) -> ConfigError {
        ConfigError(file: file, line: line, key: fullKey(key), problem: problem)
    }

    public func string(_ key: String) throws -> String? {
        guard let (value, line) = entry(key) else { return nil }
        guard case .scalar(let scalar) = value else { throw fail(key, line, "expected a string") }
        return scalar.string
    }

    public func int(_ key: String, in range: ClosedRange<Int> = Int.min...Int.max) throws -> Int? {
        guard let (value, line) = entry(key) else { return nil }
        guard case .scalar(let scalar) = value, let number = Int(scalar.string) else {
            throw fail(key, line, "expected a whole number, got '\(value.string ?? "a structure")'")
        }
        guard range.contains(number) else {
            throw fail(key, line, "\(number) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    public func double(_ key: String, in range: ClosedRange<Double> = -.infinity ... .infinity) throws -> Double? {
        guard let (value, line) = entry(key) else { return nil }
        guard case .scalar(let scalar) = value, let number = Double(scalar.string), number.isFinite else {
            throw fail(key, line, "expected a number, got '\(value.string ?? "a structure")'")
        }
        guard range.contains(number) else {
            throw fail(key, line, "\(number) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    public func bool(_ key: String) throws -> Bool? {
        guard let (value, line) = entry(key) else { return nil }
        switch value.string?.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw fail(key, line, "expected true or false, got '\(value.string ?? "a structure")'")
        }
    }

    /// The longest duration any key accepts unless it says otherwise: longer is a typo (`1e17s`), and values past
    /// it would overflow the clocks and timers they feed.
    public static let longestDuration: Duration = .seconds(366 * 24 * 3600)

    /// A duration: a number of seconds, or a number with a unit `ms`, `s`, `m`, `h` ("3s", "500ms", "2m"), between
    /// `minimum` and `maximum` (one year by default).
    public func duration(
        _ key: String,
        minimum: Duration = .zero,
        maximum: Duration = ConfigSection.longestDuration
    ) throws -> Duration? {
        guard let (value, line) = entry(key) else { return nil }
        guard let text = value.string, let milliseconds = Self.parseMilliseconds(text) else {
            throw fail(key, line, "expected a duration such as 3s, 500ms or 2m, got '\(value.string ?? "a structure")'")
        }
        // Compared as a Double: a value far past `maximum` must not be converted to an integer first.
        guard milliseconds <= Self.milliseconds(maximum) else {
            throw fail(key, line, "\(text) is longer than the maximum \(Self.describe(maximum))")
        }
        let parsed = Duration.milliseconds(Int64(milliseconds))
        guard parsed >= minimum else { throw fail(key, line, "\(text) is shorter than the minimum \(minimum)") }
        return parsed
    }

    /// The duration `text` names, or nil when it is not one or too long to represent (past `longestDuration`).
    public static func parseDuration(_ text: String) -> Duration? {
        guard let milliseconds = parseMilliseconds(text), milliseconds <= Self.milliseconds(longestDuration) else {
            return nil
        }
        return .milliseconds(Int64(milliseconds))
    }

    /// Whole milliseconds, as a Double so that no value traps when converted; nil unless finite and not negative.
    static func parseMilliseconds(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var number = trimmed
        var scale = 1.0
        for (suffix, unitScale) in units where trimmed.hasSuffix(suffix) {
            number = String(trimmed.dropLast(suffix.count))
            scale = unitScale
            break
        }
        guard let value = Double(number), value >= 0, value.isFinite else { return nil }
        let milliseconds = (value * scale * 1000).rounded()
        return milliseconds.isFinite ? milliseconds : nil
    }

    private static func milliseconds(_ duration: Duration) -> Double {
        duration / .milliseconds(1)
    }

    private static func describe(_ duration: Duration) -> String {
        let seconds = duration.components.seconds
        if seconds >= 86_400, seconds % 86_400 == 0 { return "\(seconds / 86_400) days" }
        return "\(duration)"
    }

    /// A list of strings (e.g. a command and its arguments).
    public func stringList(_ key: String) throws -> [String]? {
        guard let (value, line) = entry(key) else { return nil }
        guard case .sequence(let sequence) = value else { throw fail(key, line, "expected a list") }
        return try sequence.map { item in
            guard case .scalar(let scalar) = item else {
                throw fail(key, item.mark?.line, "list items must be strings")
            }
            return scalar.string
        }
    }

    /// One of a fixed set of words.
    public func choice(_ key: String, from allowed: [String]) throws -> String? {
        guard let text = try string(key) else { return nil }
        guard allowed.contains(text) else {
            throw fail(
                key,
                entries.first { $0.key == key }?.line,
                "'\(text)' is not one of \(allowed.joined(separator: ", "))"
            )
        }
        return text
    }

    /// The keys present, in file order (for mappings keyed by names, such as host ids).
    public var keys: [String] { entries.map(\.key) }

    /// The line of `key` in the file, for errors found after reading its value (nil when absent).
    public func line(of key: String) -> Int? { entries.first { $0.key == key }?.line }

    /// A nested mapping; nil when absent.
    public func section(_ key: String) throws -> ConfigSection? {
        guard let (value, line) = entry(key) else { return nil }
        guard case .mapping(let mapping) = value else { throw fail(key, line, "expected a mapping of keys") }
        let child = try ConfigSection(file: file, path: fullKey(key), mapping: mapping)
        children.append(child)
        return child
    }

    /// Fails on the first key no accessor read, here or in any section read from here.
    public func rejectUnknownKeys() throws {
        for entry in entries where !known.contains(entry.key) {
            var problem = "unknown key"
            if let suggestion = known.min(by: { editDistance($0, entry.key) < editDistance($1, entry.key) }),
                editDistance(suggestion, entry.key) <= 2
            {
                problem += " (did you mean '\(suggestion)'?)"
            }
            throw ConfigError(file: file, line: entry.line, key: fullKey(entry.key), problem: problem)
        }
        for child in children { try child.rejectUnknownKeys() }
    }
}

/// Levenshtein distance, for typo suggestions on short keys.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    var row = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
        var previous = row[0]
        row[0] = i
        for j in 1...max(b.count, 1) where !b.isEmpty {
            let current = row[j]
            row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
            previous = current
        }
    }
    return row[b.count]
}
