/// One VM to live-migrate, with what the move is expected to cost.
public struct MigrationMove: Sendable, Hashable {
    public var vmID: String
    public var fromHostID: String
    public var toHostID: String
    /// Indices of the hosts in the snapshot's `hosts`.
    public var fromHostIndex: Int
    public var toHostIndex: Int
    public var cost: MigrationCost

    public init(
        vmID: String,
        fromHostID: String,
        toHostID: String,
        fromHostIndex: Int,
        toHostIndex: Int,
        cost: MigrationCost
    ) {
        self.vmID = vmID
        self.fromHostID = fromHostID
        self.toHostID = toHostID
        self.fromHostIndex = fromHostIndex
        self.toHostIndex = toHostIndex
        self.cost = cost
    }
}
