/// Sorts VMs by decreasing size (the norm of their demand as fractions of the largest host) and puts each on the
/// feasible host with the least normalised remaining capacity, trying active, then waking, then sleeping hosts.
/// Normalising first is what makes every norm usable, unlike Snooze's raw vectors.
public struct BestFitDecreasing: PlacementPolicy {
    /// Snooze's MID threshold: a host is filled to at most this fraction of its capacity in each dimension.
    public var fillLimit: ResourceFractions
    /// Measures both VM size and host remaining capacity.
    public var norm: VectorNorm

    public init(fillLimit: ResourceFractions = .one, norm: VectorNorm = .l1) {
        self.fillLimit = fillLimit
        self.norm = norm
    }

    public func place(_ vms: [VMRequest], on snapshot: ClusterSnapshot) -> PlacementPlan {
        // Neighbouring hosts with similar load make the subtree bounds of the best-fit search tight, which cuts
        // the nodes it visits several times over; the choice itself does not depend on this order except in ties.
        var workspace = PlacementWorkspace(
            snapshot: snapshot,
            fillLimit: fillLimit,
            norm: norm,
            vmCount: vms.count,
            tierOrder: PlacementWorkspace.mostLoadedFirst(snapshot.hosts, norm: norm)
        )

        // VM sizes are compared on one scale: fractions of the largest usable host in each dimension.
        var reference = SIMD4<Double>(repeating: 0)
        for hostIndex in workspace.order {
            let capacity = snapshot.hosts[hostIndex].capacity.simd
            reference.replace(with: capacity, where: reference .< capacity)
        }
        let sizes = vms.map { vm -> Double in
            let demand = vm.estimated.simd
            // Invalid demands are rejected anyway; a finite size keeps the sort's ordering strict.
            guard PlacementWorkspace.isValid(demand) else { return -1 }
            let size = norm.value(of: ResourceVector.divide(demand, by: reference))
            return size.isNaN ? -1 : size
        }
        let placementOrder = vms.indices.sorted { sizes[$0] > sizes[$1] || (sizes[$0] == sizes[$1] && $0 < $1) }

        let smallestRemaining = PlacementWorkspace.smallestRemaining(of: vms, in: placementOrder)
        for (step, vmIndex) in placementOrder.enumerated() {
            let placed = workspace.placeByTier(vms[vmIndex]) { index, demand, tier in index.bestFit(demand, in: tier) }
            if let position = placed {
                workspace.retireIfFull(at: position, smallestRemaining: smallestRemaining[step + 1])
            }
        }
        return workspace.plan()
    }
}
