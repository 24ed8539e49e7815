/// Snooze's packing placement: hosts sorted most-loaded first within each tier (active, waking, sleeping), and
/// each VM goes to the first host it fits on, so a sleeping host is woken only when the awake ones are full. The
/// order is taken once, at the start of the plan.
public struct FirstFit: PlacementPolicy {
    /// Snooze's MID threshold: a host is filled to at most this fraction of its capacity in each dimension.
    public var fillLimit: ResourceFractions
    /// Ranks hosts by load (estimated use as a fraction of capacity) for the initial sort.
    public var loadNorm: VectorNorm

    public init(fillLimit: ResourceFractions = .one, loadNorm: VectorNorm = .l1) {
        self.fillLimit = fillLimit
        self.loadNorm = loadNorm
    }

    public func place(_ vms: [VMRequest], on snapshot: ClusterSnapshot) -> PlacementPlan {
        var workspace = PlacementWorkspace(
            snapshot: snapshot,
            fillLimit: fillLimit,
            norm: loadNorm,
            vmCount: vms.count,
            tierOrder: PlacementWorkspace.mostLoadedFirst(snapshot.hosts, norm: loadNorm)
        )
        for vm in vms {
            workspace.placeByTier(vm) { index, demand, tier in index.firstFit(demand, in: tier) }
        }
        return workspace.plan()
    }
}
