/// What relocation and consolidation share about a snapshot: which hosts may take part in moves, which VMs each
/// runs, what moving each VM costs, and which hosts cannot be emptied.
struct ConsolidationCluster {
    let hosts: [HostSnapshot]
    let vms: [VMSnapshot]
    /// Cost of moving each VM, by index in `vms`.
    let costs: [MigrationCost]
    /// Indices into `vms` of the VMs on each host, in snapshot order; empty for unknown hosts.
    let vmsOnHost: [[Int]]
    /// Active and not busy: may be a source or a destination.
    let isMovable: [Bool]
    /// Carries load (estimated use or VMs).
    let isUsed: [Bool]
    /// Cannot be emptied: load or VMs not accounted for by movable VMs in the snapshot.
    let hasUnmovableLoad: [Bool]
    /// Capacity × MID per host: the most a destination may carry.
    let allowed: [SIMD4<Double>]
    /// Estimated use per host.
    let use: [SIMD4<Double>]
    /// Componentwise largest capacity among movable hosts: one scale for comparing VM and host sizes.
    let reference: SIMD4<Double>

    init(snapshot: ClusterSnapshot, mid: ResourceFractions, costModel: MigrationCostModel) {
        hosts = snapshot.hosts
        vms = snapshot.vms
        costs = snapshot.vms.map { costModel.cost(of: $0) }

        var indexOfHost: [String: Int] = [:]
        indexOfHost.reserveCapacity(hosts.count)
        for (index, host) in hosts.enumerated() where indexOfHost[host.id] == nil {
            indexOfHost[host.id] = index
        }
        var vmsOnHost = Array(repeating: [Int](), count: hosts.count)
        for (vmIndex, vm) in vms.enumerated() {
            if let hostIndex = indexOfHost[vm.hostID] {
                vmsOnHost[hostIndex].append(vmIndex)
            }
        }
        self.vmsOnHost = vmsOnHost

        let limit = mid.simd
        var isMovable: [Bool] = []
        var isUsed: [Bool] = []
        var hasUnmovableLoad: [Bool] = []
        var allowed: [SIMD4<Double>] = []
        var use: [SIMD4<Double>] = []
        var reference = SIMD4<Double>(repeating: 0)
        for (hostIndex, host) in hosts.enumerated() {
            let movable = host.state == .active && !snapshot.busyHostIDs.contains(host.id)
            let hostUse = host.estimatedUse.simd
            let capacity = host.capacity.simd
            isMovable.append(movable)
            isUsed.append(!host.vmIDs.isEmpty || !vmsOnHost[hostIndex].isEmpty || any(hostUse .!= 0))
            allowed.append(capacity * limit)
            use.append(hostUse)
            if movable {
                reference.replace(with: capacity, where: reference .< capacity)
            }
            hasUnmovableLoad.append(
                Self.hasUnmovableLoad(host: host, vmIndices: vmsOnHost[hostIndex], vms: vms)
            )
        }
        self.isMovable = isMovable
        self.isUsed = isUsed
        self.hasUnmovableLoad = hasUnmovableLoad
        self.allowed = allowed
        self.use = use
        self.reference = reference
    }

    /// True when emptying the host of its VMs in the snapshot would leave something behind: a listed VM without a
    /// snapshot, an invalid estimate, or estimated use its VMs do not add up to.
    private static func hasUnmovableLoad(host: HostSnapshot, vmIndices: [Int], vms: [VMSnapshot]) -> Bool {
        var known = SIMD4<Double>(repeating: 0)
        for vmIndex in vmIndices {
            let demand = vms[vmIndex].estimated.simd
            guard isValid(demand) else { return true }
            known += demand
        }
        if host.vmIDs.count > vmIndices.count {
            return true
        }
        if !host.vmIDs.isEmpty {
            let ids = Set(vmIndices.map { vms[$0].id })
            if host.vmIDs.contains(where: { !ids.contains($0) }) { return true }
        }
        let residual = host.estimatedUse.simd - known
        let slack = host.capacity.simd.replacing(with: 1, where: host.capacity.simd .< 1) * 1e-6
        return any(residual .> slack)
    }

    /// Finite and not negative in every dimension.
    static func isValid(_ demand: SIMD4<Double>) -> Bool {
        all(demand .>= 0) && all(demand .< SIMD4(repeating: .infinity))
    }

    /// `allowed - use` with a relative slack that absorbs rounding, so 10 × 0.1 cores fit in 1 core.
    func free(of hostIndex: Int) -> SIMD4<Double> {
        let limit = allowed[hostIndex]
        return limit - use[hostIndex] + limit.replacing(with: 0, where: limit .< 0) * 1e-9
    }

    /// Size of a demand on the cluster's common scale (L1 of fractions of the largest host).
    func size(of demand: SIMD4<Double>) -> Double {
        var fractions = ResourceVector.divide(demand, by: reference)
        fractions.replace(with: 0, where: reference .<= 0)
        return fractions.sum()
    }

    /// The host's load by `norm`, as fractions of its capacity.
    func load(of hostIndex: Int, norm: VectorNorm) -> Double {
        let fractions = ResourceVector.divide(use[hostIndex], by: hosts[hostIndex].capacity.simd)
        let value = norm.value(of: fractions)
        return value.isNaN ? .infinity : value
    }

    /// VMs of a host, largest first (ties in snapshot order).
    func vmsLargestFirst(on hostIndex: Int) -> [Int] {
        largestFirst(vmsOnHost[hostIndex])
    }

    /// `vmIndices` largest first, ties in the given order.
    func largestFirst(_ vmIndices: [Int]) -> [Int] {
        let sizes = vmIndices.map { size(of: vms[$0].estimated.simd) }
        return vmIndices.indices.sorted { sizes[$0] > sizes[$1] || (sizes[$0] == sizes[$1] && $0 < $1) }
            .map { vmIndices[$0] }
    }

    /// Active hosts carrying load, and the fewest hosts that could carry it all within MID.
    func hostsUsedAndLowerBound(usedAfter: (Int) -> Bool) -> (before: Int, after: Int, lowerBound: Int?) {
        var before = 0
        var after = 0
        var demand = ResourceVector.zero
        var capacities: [ResourceVector] = []
        for (hostIndex, host) in hosts.enumerated() where host.state == .active {
            capacities.append(ResourceVector(simd: allowed[hostIndex]))
            if isUsed[hostIndex] {
                before += 1
                demand += host.estimatedUse
            }
            if usedAfter(hostIndex) {
                after += 1
            }
        }
        return (before, after, HostCountLowerBound.hosts(covering: demand, capacities: capacities))
    }

    /// Why a plan has nothing to work on: fewer than two hosts that carry VMs may take part in moves. Names the
    /// active hosts with VMs left out as busy, so "0 hosts" is not read as an idle cluster.
    func nothingToConsolidate(candidateCount: Int) -> String {
        let busy = hosts.indices.filter { hosts[$0].state == .active && isUsed[$0] && !isMovable[$0] }.count
        let movable = "nothing to consolidate: \(ConsolidationPlan.count(candidateCount, "active host")) with VMs"
        guard busy > 0 else { return movable }
        return movable + " can take part in moves; "
            + "\(ConsolidationPlan.count(busy, "other")) \(busy == 1 ? "is" : "are") busy "
            + "(a migration in or out, or no live migration on the host)"
    }

    func move(_ vmIndex: Int, from source: Int, to destination: Int) -> MigrationMove {
        MigrationMove(
            vmID: vms[vmIndex].id,
            fromHostID: hosts[source].id,
            toHostID: hosts[destination].id,
            fromHostIndex: source,
            toHostIndex: destination,
            cost: costs[vmIndex]
        )
    }
}
