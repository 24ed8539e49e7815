extension CostAwareConsolidation {
    /// What the cost-aware policy saves first when it chooses, among hosts of one size, which to keep (every VM on
    /// a host it does not keep migrates once).
    public enum Objective: Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// Keep the hosts with the most VMs, among equals the costliest to empty: the fewest migrations, each a
        /// pause of its guest and a slot in the migration limits.
        case fewestMigrations
        /// Keep the hosts costliest to empty (seconds, then bytes): the least time and traffic, at the price of
        /// more, smaller migrations.
        case leastMigrationTime

        public var description: String {
            switch self {
            case .fewestMigrations: "fewest migrations"
            case .leastMigrationTime: "least migration time"
            }
        }
    }
}
