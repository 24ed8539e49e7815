/// The bookkeeping of one plan shared by every policy: usable hosts in the policy's order, grouped into tiers
/// (active, then waking, then sleeping; failed hosts are left out), their free capacity under the fill limit, and
/// the plan being built.
struct PlacementWorkspace {
    let hosts: [HostSnapshot]
    /// Snapshot index of the host at each position.
    let order: [Int]
    /// Position ranges of the active, waking and sleeping hosts, in the order they are tried.
    let tiers: [Range<Int>]
    /// Snooze's MID threshold per dimension, as a SIMD vector.
    private let fillLimit: SIMD4<Double>
    private(set) var index: FreeCapacityIndex
    private var assignments: [PlacementAssignment] = []
    private var unplaced: [UnplacedVM] = []
    /// Rejections by demand since the last assignment: until capacity changes, the same demand fails again for
    /// the same reason, which spares a search and an explanation per VM once the cluster is full.
    private var rejections: [SIMD4<Double>: UnplacedVM] = [:]

    /// Positions within a tier follow `tierOrder` (snapshot indices of one tier, returned reordered); the default
    /// keeps snapshot order.
    init(
        snapshot: ClusterSnapshot,
        fillLimit: ResourceFractions,
        norm: VectorNorm,
        vmCount: Int,
        tierOrder: ([Int]) -> [Int] = { $0 },
        dimensions: Set<ResourceDimension> = Set(ResourceDimension.allCases)
    ) {
        hosts = snapshot.hosts
        var active: [Int] = []
        var waking: [Int] = []
        var sleeping: [Int] = []
        for (hostIndex, host) in hosts.enumerated() {
            switch host.state {
            case .active: active.append(hostIndex)
            case .waking: waking.append(hostIndex)
            case .sleeping: sleeping.append(hostIndex)
            case .failed: break
            }
        }
        let ordered = [active, waking, sleeping].map(tierOrder)
        var tiers: [Range<Int>] = []
        var start = 0
        for tier in ordered {
            tiers.append(start..<(start + tier.count))
            start += tier.count
        }
        self.tiers = tiers
        order = ordered.flatMap { $0 }

        let limit = fillLimit.simd
        self.fillLimit = limit
        // A dimension left out of feasibility has room for anything on every host.
        var ignored = SIMD4<Double>(repeating: 0)
        for dimension in ResourceDimension.allCases where !dimensions.contains(dimension) {
            ignored[dimension.rawValue] = .infinity
        }
        var free: [SIMD4<Double>] = []
        var capacity: [SIMD4<Double>] = []
        free.reserveCapacity(order.count)
        capacity.reserveCapacity(order.count)
        for hostIndex in order {
            let host = hosts[hostIndex]
            let allowed = host.capacity.simd * limit
            free.append(allowed - host.estimatedUse.simd + Self.tolerance(allowed: allowed) + ignored)
            capacity.append(host.capacity.simd)
        }
        index = FreeCapacityIndex(free: free, capacity: capacity, norm: norm)
        assignments.reserveCapacity(vmCount)
    }

    /// Free capacity of the host at `position` as an operator would count it (without the rounding tolerance).
    func reportedFree(at position: Int) -> SIMD4<Double> {
        let allowed = hosts[order[position]].capacity.simd * fillLimit
        return index.free(at: position) - Self.tolerance(allowed: allowed)
    }

    /// A tier order: most loaded (estimated use as a fraction of capacity, measured by `norm`) first, ties in
    /// snapshot order.
    static func mostLoadedFirst(_ hosts: [HostSnapshot], norm: VectorNorm) -> ([Int]) -> [Int] {
        { tier in
            let loads = tier.map { norm.value(of: hosts[$0].estimatedUse.normalised(to: hosts[$0].capacity)) }
            return tier.indices.sorted { loads[$0] > loads[$1] || (loads[$0] == loads[$1] && $0 < $1) }
                .map { tier[$0] }
        }
    }

    /// A relative slack that absorbs rounding from repeated subtraction, so that 10 × 0.1 cores fit in 1 core.
    private static func tolerance(allowed: SIMD4<Double>) -> SIMD4<Double> {
        allowed.replacing(with: 0, where: allowed .< 0) * 1e-9
    }

    /// Negative, infinite or NaN demands would corrupt the free capacity of whichever host took them.
    static func isValid(_ demand: SIMD4<Double>) -> Bool {
        all(demand .>= 0) && all(demand .< SIMD4(repeating: .infinity))
    }

    /// Sends `vm` to the host at `position` and charges its demand there.
    mutating func assign(_ vm: VMRequest, demand: SIMD4<Double>, at position: Int) {
        let hostIndex = order[position]
        let host = hosts[hostIndex]
        index.take(demand, at: position)
        if !rejections.isEmpty {
            rejections.removeAll(keepingCapacity: true)
        }
        assignments.append(
            PlacementAssignment(
                vmID: vm.id,
                hostID: host.id,
                hostIndex: hostIndex,
                wakesHost: host.state == .sleeping
            )
        )
    }

    /// Retires the host at `position` from best-fit rankings when it cannot hold `smallestRemaining` (the
    /// componentwise minimum of the demands still to place): no VM of this plan can go there any more.
    /// Returns whether it did.
    @discardableResult
    mutating func retireIfFull(at position: Int, smallestRemaining: SIMD4<Double>) -> Bool {
        guard !all(smallestRemaining .<= index.free(at: position)) else { return false }
        index.retire(at: position)
        return true
    }

    /// The componentwise minimum of the valid demands from each position of `order` to its end (one more entry,
    /// infinite, after the last): what a host must still be able to hold to be of any use.
    static func smallestRemaining(of vms: [VMRequest], in order: [Int]) -> [SIMD4<Double>] {
        var minimum = SIMD4<Double>(repeating: .infinity)
        var result = Array(repeating: minimum, count: order.count + 1)
        for step in order.indices.reversed() {
            let demand = vms[order[step]].estimated.simd
            if isValid(demand) {
                minimum.replace(with: demand, where: demand .< minimum)
            }
            result[step] = minimum
        }
        return result
    }

    /// Records that no host can take `vm`, with the reason.
    mutating func reject(_ vm: VMRequest, demand: SIMD4<Double>) {
        var rejection = rejections[demand] ?? UnplacedReason.explain(vmID: vm.id, demand: demand, in: self)
        rejection.vmID = vm.id
        rejections[demand] = rejection
        unplaced.append(rejection)
    }

    /// True when a VM with this demand was rejected since the last assignment, so it cannot fit now either.
    func isKnownToFail(_ demand: SIMD4<Double>) -> Bool {
        !rejections.isEmpty && rejections[demand] != nil
    }

    /// The first position in `range` whose host can hold `demand`.
    mutating func firstFit(_ demand: SIMD4<Double>, in range: Range<Int>) -> Int? {
        index.firstFit(demand, in: range)
    }

    /// Places `vm` on the first tier that has a host for it, choosing within a tier with `search`; returns the
    /// position it went to.
    @discardableResult
    mutating func placeByTier(
        _ vm: VMRequest,
        search: (inout FreeCapacityIndex, SIMD4<Double>, Range<Int>) -> Int?
    ) -> Int? {
        let demand = vm.estimated.simd
        guard Self.isValid(demand) else {
            rejectInvalid(vm)
            return nil
        }
        guard !isKnownToFail(demand) else {
            reject(vm, demand: demand)
            return nil
        }
        for tier in tiers {
            if let position = search(&index, demand, tier) {
                assign(vm, demand: demand, at: position)
                return position
            }
        }
        reject(vm, demand: demand)
        return nil
    }

    /// Records that `vm` asks for something no host can be charged with.
    mutating func rejectInvalid(_ vm: VMRequest) {
        unplaced.append(UnplacedReason.invalidDemand(vmID: vm.id))
    }

    func plan(nextStartIndex: Int? = nil) -> PlacementPlan {
        PlacementPlan(assignments: assignments, unplaced: unplaced, nextStartIndex: nextStartIndex)
    }
}
