import Placement

extension PlacementPlan {
    /// "vm→host" pairs, with a trailing "!" where the host must be woken.
    var placements: [String] {
        assignments.map { "\($0.vmID)→\($0.hostID)\($0.wakesHost ? "!" : "")" }
    }

    var reasons: [String] {
        unplaced.map { "\($0.vmID): \($0.reason)" }
    }
}
