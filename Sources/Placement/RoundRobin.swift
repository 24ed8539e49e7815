/// Spreads VMs: each search starts at the host after the one that took the previous VM, trying active hosts, then
/// waking, then sleeping ones. Hosts keep snapshot order (not load order) so the cursor means the same host from
/// one plan to the next.
public struct RoundRobin: PlacementPolicy {
    /// Snooze's MID threshold: a host is filled to at most this fraction of its capacity in each dimension.
    public var fillLimit: ResourceFractions
    /// Index into the snapshot's hosts where the search for the first VM begins; taken modulo the host count.
    public var startIndex: Int

    public init(fillLimit: ResourceFractions = .one, startIndex: Int = 0) {
        self.fillLimit = fillLimit
        self.startIndex = startIndex
    }

    /// The policy to use for the next plan: its cursor continues where `plan` stopped.
    public func advanced(past plan: PlacementPlan) -> RoundRobin {
        var next = self
        next.startIndex = plan.nextStartIndex ?? startIndex
        return next
    }

    public func place(_ vms: [VMRequest], on snapshot: ClusterSnapshot) -> PlacementPlan {
        let hostCount = snapshot.hosts.count
        var cursor = hostCount > 0 ? ((startIndex % hostCount) + hostCount) % hostCount : 0
        var workspace = PlacementWorkspace(snapshot: snapshot, fillLimit: fillLimit, norm: .l1, vmCount: vms.count)
        for vm in vms {
            let demand = vm.estimated.simd
            guard PlacementWorkspace.isValid(demand) else {
                workspace.rejectInvalid(vm)
                continue
            }
            var placedAt: Int?
            if !workspace.isKnownToFail(demand) {
                for tier in workspace.tiers {
                    // Positions in a tier are in snapshot order: the cursor splits the tier into "from here" and
                    // "wrapped around".
                    let split = Self.firstPosition(in: tier, atOrAfter: cursor, order: workspace.order)
                    if let position = workspace.firstFit(demand, in: split..<tier.upperBound)
                        ?? workspace.firstFit(demand, in: tier.lowerBound..<split)
                    {
                        placedAt = position
                        break
                    }
                }
            }
            if let position = placedAt {
                cursor = (workspace.order[position] + 1) % hostCount
                workspace.assign(vm, demand: demand, at: position)
            } else {
                workspace.reject(vm, demand: demand)
            }
        }
        return workspace.plan(nextStartIndex: cursor)
    }

    /// Binary search for the first position in `tier` whose snapshot index is at least `hostIndex`.
    private static func firstPosition(in tier: Range<Int>, atOrAfter hostIndex: Int, order: [Int]) -> Int {
        var low = tier.lowerBound
        var high = tier.upperBound
        while low < high {
            let middle = (low + high) / 2
            if order[middle] < hostIndex {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low
    }
}
