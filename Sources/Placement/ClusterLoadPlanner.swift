/// The relocation and consolidation decisions as one function of a `ClusterSnapshot`, so the manager's loop and
/// torpor-sim decide alike: both build a snapshot their own way and call `relocation(_:)` or `consolidation(_:)`.
public struct ClusterLoadPlanner: Sendable {
    public var relocationPolicy: Relocation
    /// Nil: relocation only.
    public var consolidationPolicy: (any ConsolidationPolicy)?

    public init(relocationPolicy: Relocation, consolidationPolicy: (any ConsolidationPolicy)?) {
        self.relocationPolicy = relocationPolicy
        self.consolidationPolicy = consolidationPolicy
    }

    /// Relocation that never empties an underloaded host onto an empty one: that only moves the load, and the
    /// empty host, underloaded in turn, would send it back at the next refresh. Empty hosts are used only when the
    /// hosts carrying load cannot relieve every overloaded host, and then only for overload relief.
    public func relocation(_ snapshot: ClusterSnapshot) -> RelocationPlan {
        let empty = Set(snapshot.hosts.filter(\.vmIDs.isEmpty).map(\.id))
        var withoutEmpty = snapshot
        withoutEmpty.busyHostIDs.formUnion(empty)
        var plan = relocationPolicy.plan(withoutEmpty)
        let relieved = Set(plan.moves.map(\.fromHostID))
        guard !empty.isEmpty, plan.overloadedHostIDs.contains(where: { !relieved.contains($0) }) else {
            return plan
        }
        plan = relocationPolicy.plan(snapshot)
        let onto = Set(plan.moves.filter { empty.contains($0.toHostID) }.map(\.fromHostID))
        let dropped = onto.intersection(plan.emptiedHostIDs)
        plan.moves.removeAll { dropped.contains($0.fromHostID) }
        plan.emptiedHostIDs.removeAll { dropped.contains($0) }
        plan.reasons += dropped.sorted().map { "\($0) underloaded: not emptied onto an empty host" }
        return plan
    }

    /// The configured consolidation's plan, or nil when there is no consolidation policy.
    public func consolidation(_ snapshot: ClusterSnapshot) -> ConsolidationPlan? {
        consolidationPolicy?.plan(snapshot)
    }
}
