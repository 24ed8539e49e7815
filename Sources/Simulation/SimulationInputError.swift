/// Bad simulator input, naming the file, the line (1-based) and the key or field when known. torpor-sim exits 64
/// on it.
public struct SimulationInputError: Error, Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var key: String?
    public var problem: String

    public init(file: String, line: Int? = nil, key: String? = nil, problem: String) {
        self.file = file
        self.line = line
        self.key = key
        self.problem = problem
    }

    public var description: String {
        let location = line.map { "\(file):\($0)" } ?? file
        return key.map { "\(location): \($0): \(problem)" } ?? "\(location): \(problem)"
    }
}
