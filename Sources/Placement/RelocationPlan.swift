/// What relocation decided: the migrations that relieve overloaded hosts and empty underloaded ones, and one
/// reason per host it looked at (relieved, emptied, or why not).
public struct RelocationPlan: Sendable, Hashable {
    /// Grouped by source host: overloaded hosts first, then underloaded ones.
    public var moves: [MigrationMove]
    public var overloadedHostIDs: [String]
    public var underloadedHostIDs: [String]
    /// Underloaded hosts this plan empties, for the energy saver.
    public var emptiedHostIDs: [String]
    /// E.g. "host-3 overloaded (cpu 95 % > MAX 90 %): moving 1 VM relieves it".
    public var reasons: [String]

    public init(
        moves: [MigrationMove],
        overloadedHostIDs: [String],
        underloadedHostIDs: [String],
        emptiedHostIDs: [String],
        reasons: [String]
    ) {
        self.moves = moves
        self.overloadedHostIDs = overloadedHostIDs
        self.underloadedHostIDs = underloadedHostIDs
        self.emptiedHostIDs = emptiedHostIDs
        self.reasons = reasons
    }

    public var totalCost: MigrationCost {
        moves.reduce(.zero) { $0 + $1.cost }
    }
}
