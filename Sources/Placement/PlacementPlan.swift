/// What a policy decided: which VM goes where, which could not go anywhere and why.
public struct PlacementPlan: Sendable, Hashable {
    /// In the order the policy placed them (best-fit decreasing places the largest VMs first).
    public var assignments: [PlacementAssignment]
    public var unplaced: [UnplacedVM]
    /// Where a stateful policy starts its next plan (round robin: an index into the snapshot's hosts); nil for
    /// stateless policies.
    public var nextStartIndex: Int?

    public init(assignments: [PlacementAssignment], unplaced: [UnplacedVM], nextStartIndex: Int? = nil) {
        self.assignments = assignments
        self.unplaced = unplaced
        self.nextStartIndex = nextStartIndex
    }

    /// Sleeping hosts this plan needs awake, each once, in order of first use.
    public var hostsToWake: [String] {
        var seen = Set<Int>()
        var result: [String] = []
        for assignment in assignments where assignment.wakesHost && seen.insert(assignment.hostIndex).inserted {
            result.append(assignment.hostID)
        }
        return result
    }
}
