/// The most a consolidation plan may cost, counting its migrations one after another.
public struct MigrationBudget: Sendable, Hashable, CustomStringConvertible {
    public var maximumBytes: Double
    public var maximumSeconds: Double

    public init(maximumBytes: Double = .infinity, maximumSeconds: Double = .infinity) {
        self.maximumBytes = maximumBytes
        self.maximumSeconds = maximumSeconds
    }

    public static let unlimited = MigrationBudget()

    public func allows(_ cost: MigrationCost) -> Bool {
        cost.bytes <= maximumBytes && cost.seconds <= maximumSeconds
    }

    /// "10 GiB, 60 s", "unlimited".
    public var description: String {
        var parts: [String] = []
        if maximumBytes.isFinite { parts.append(ResourceFormatting.bytes(maximumBytes)) }
        if maximumSeconds.isFinite { parts.append("\(ResourceFormatting.decimal(maximumSeconds)) s") }
        return parts.isEmpty ? "unlimited" : parts.joined(separator: ", ")
    }
}
