import Placement

/// Torpor's own policies as the manager runs them (manager.yaml's `relocation:` and `consolidation:`): relocation
/// on every interval, consolidation on its schedule, and the energy saver putting hosts left empty to sleep.
public struct TorporPolicy: Sendable, Hashable {
    public enum Consolidation: String, Sendable, Hashable, CaseIterable {
        case none
        /// Snooze's modified Sercon.
        case sercon
        /// Torpor's: keeps the hosts cheapest to keep, moves the VMs cheapest to move.
        case costAware = "cost-aware"
    }

    /// `relocation.enabled`.
    public var relocationEnabled: Bool
    /// `relocation.thresholds`: MIN, MID, MAX.
    public var thresholds: RelocationThresholds
    /// `consolidation.policy`.
    public var consolidation: Consolidation
    /// `consolidation.schedule`: seconds between runs, rounded to whole intervals (at least one).
    public var scheduleSeconds: Double
    /// `consolidation.budget`: the most a plan's migrations may take, one after another, seconds.
    public var budgetSeconds: Double
    /// `consolidation.bandwidth`: what the cost model expects a migration to get, bytes per second.
    public var bandwidthBytesPerSecond: Double
    /// `estimator.packing_density` (CPU): a VM with no samples yet counts at this fraction of what it asked for, so
    /// the day's first placement packs as the manager's would.
    public var packingDensity: Double

    public init(
        relocationEnabled: Bool = true,
        thresholds: RelocationThresholds = .default,
        consolidation: Consolidation = .costAware,
        scheduleSeconds: Double = 3600,
        budgetSeconds: Double = 1800,
        bandwidthBytesPerSecond: Double = MigrationCostModel().bandwidthBytesPerSecond,
        packingDensity: Double = 1
    ) {
        self.packingDensity = packingDensity
        self.relocationEnabled = relocationEnabled
        self.thresholds = thresholds
        self.consolidation = consolidation
        self.scheduleSeconds = scheduleSeconds
        self.budgetSeconds = budgetSeconds
        self.bandwidthBytesPerSecond = bandwidthBytesPerSecond
    }

    /// The shared decision function, configured as the manager configures it: relocation's destinations as the
    /// manager's placement policy (`placement_policy`) chooses them, under the MID cap.
    public var planner: ClusterLoadPlanner { planner(placement: FirstFit()) }

    func planner(placement: any PlacementPolicy) -> ClusterLoadPlanner {
        let costModel = MigrationCostModel(bandwidthBytesPerSecond: bandwidthBytesPerSecond)
        let budget = MigrationBudget(maximumSeconds: budgetSeconds)
        let consolidationPolicy: (any ConsolidationPolicy)? =
            switch consolidation {
            case .none: nil
            case .sercon: SerconConsolidation(thresholds: thresholds, costModel: costModel, budget: budget)
            case .costAware: CostAwareConsolidation(thresholds: thresholds, costModel: costModel, budget: budget)
            }
        return ClusterLoadPlanner(
            relocationPolicy: Relocation(thresholds: thresholds, costModel: costModel, placement: placement),
            consolidationPolicy: consolidationPolicy
        )
    }
}

extension TorporPolicy.Consolidation {
    var displayName: String {
        switch self {
        case .none: "relocation"
        case .sercon: "Sercon"
        case .costAware: "cost-aware"
        }
    }
}
