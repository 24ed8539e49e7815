/// A configuration problem, naming the file, the key (dotted path) and, when known, the line.
public struct ConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var key: String
    public var problem: String

    public init(file: String, line: Int?, key: String, problem: String) {
        self.file = file
        self.line = line
        self.key = key
        self.problem = problem
    }

    public var description: String {
        let location = line.map { "\(file):\($0)" } ?? file
        return key.isEmpty ? "\(location): \(problem)" : "\(location): \(key): \(problem)"
    }
}

extension ConfigError {
    /// A bad command-line flag, reported like a configuration key.
    public static func flag(_ name: String, _ problem: String) -> ConfigError {
        ConfigError(file: "command line", line: nil, key: "--\(name)", problem: problem)
    }
}
