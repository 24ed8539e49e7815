/// What a consolidation policy decided: the migrations that empty some hosts, and how the result compares with
/// the cluster before it and with the fewest hosts that could carry the load. An empty plan says why in `reason`.
public struct ConsolidationPlan: Sendable, Hashable {
    /// Grouped by the host they empty, in the order the policy emptied them.
    public var moves: [MigrationMove]
    /// Hosts left without VMs, for the energy saver.
    public var freedHostIDs: [String]
    /// All moves, one after another.
    public var totalCost: MigrationCost
    /// Active hosts carrying load before and after the plan.
    public var hostsUsedBefore: Int
    public var hostsUsedAfter: Int
    /// The fewest active hosts that could carry the same load within MID (`HostCountLowerBound`); nil when even
    /// all of them could not.
    public var hostsUsedLowerBound: Int?
    /// "frees 3 hosts with 7 migrations (…)", or why there is no plan.
    public var reason: String

    public init(
        moves: [MigrationMove],
        freedHostIDs: [String],
        totalCost: MigrationCost,
        hostsUsedBefore: Int,
        hostsUsedAfter: Int,
        hostsUsedLowerBound: Int?,
        reason: String
    ) {
        self.moves = moves
        self.freedHostIDs = freedHostIDs
        self.totalCost = totalCost
        self.hostsUsedBefore = hostsUsedBefore
        self.hostsUsedAfter = hostsUsedAfter
        self.hostsUsedLowerBound = hostsUsedLowerBound
        self.reason = reason
    }

    public var isEmpty: Bool { moves.isEmpty && freedHostIDs.isEmpty }
}

extension ConsolidationPlan {
    /// The plan that frees `freed` with `moves`, or an empty one with the reason when it frees nothing or costs
    /// more than `budget`.
    static func checked(
        moves: [MigrationMove],
        freed: [Int],
        cluster: ConsolidationCluster,
        budget: MigrationBudget,
        whyNothingFreed: String
    ) -> ConsolidationPlan {
        let totalCost = moves.reduce(MigrationCost.zero) { $0 + $1.cost }
        var isFreed = Array(repeating: false, count: cluster.hosts.count)
        for hostIndex in freed {
            isFreed[hostIndex] = true
        }
        let before = cluster.hostsUsedAndLowerBound { cluster.isUsed[$0] }
        func empty(_ reason: String) -> ConsolidationPlan {
            ConsolidationPlan(
                moves: [],
                freedHostIDs: [],
                totalCost: .zero,
                hostsUsedBefore: before.before,
                hostsUsedAfter: before.before,
                hostsUsedLowerBound: before.lowerBound,
                reason: reason
            )
        }
        guard !freed.isEmpty else { return empty(whyNothingFreed) }
        guard budget.allows(totalCost) else {
            return empty(
                "over budget: freeing \(count(freed.count, "host")) takes \(count(moves.count, "migration")) "
                    + "costing \(describe(totalCost)), the budget is \(budget)"
            )
        }
        var receives = Array(repeating: false, count: cluster.hosts.count)
        for move in moves {
            receives[move.toHostIndex] = true
        }
        let after = cluster.hostsUsedAndLowerBound { (cluster.isUsed[$0] || receives[$0]) && !isFreed[$0] }
        return ConsolidationPlan(
            moves: moves,
            freedHostIDs: freed.map { cluster.hosts[$0].id },
            totalCost: totalCost,
            hostsUsedBefore: after.before,
            hostsUsedAfter: after.after,
            hostsUsedLowerBound: after.lowerBound,
            reason: "frees \(count(freed.count, "host")) with \(count(moves.count, "migration")) "
                + "(\(describe(totalCost))); \(count(after.after, "host")) used, lower bound "
                + (after.lowerBound.map { "\($0)" } ?? "none")
        )
    }

    static func describe(_ cost: MigrationCost) -> String {
        "\(ResourceFormatting.bytes(cost.bytes)), \(ResourceFormatting.decimal(cost.seconds)) s"
            + (cost.converges ? "" : ", not converging")
    }

    static func count(_ value: Int, _ noun: String) -> String {
        "\(value) \(noun)\(value == 1 ? "" : "s")"
    }
}
