/// Torpor's consolidation: packs the load onto the fewest hosts while moving as little memory as it can.
///
/// 1. Hosts to keep: hosts that cannot be emptied (unaccounted load, a VM that would not converge, or one whose
///    evacuation alone exceeds the budget) first, then the largest (capacity within MID), among equals the most
///    expensive to evacuate; taken until their capacity covers the whole load, as the lower bound does.
/// 2. Every other host, cheapest to evacuate first, has all its VMs (largest first) placed first-fit on the kept
///    hosts in keep order (so the large, costly-to-empty hosts fill first; on the benchmark this packs as tightly as
///    best fit, which cannot be indexed exactly in several dimensions), or none. When one does not fit, the next
///    host in keep order that has not been emptied is kept too and the host is tried again; if it still does not
///    fit, it is kept.
/// 3. Hosts are emptied while the total cost stays within the budget; VMs on kept hosts never move.
public struct CostAwareConsolidation: ConsolidationPolicy {
    public var thresholds: RelocationThresholds
    public var costModel: MigrationCostModel
    public var budget: MigrationBudget

    public init(
        thresholds: RelocationThresholds = .default,
        costModel: MigrationCostModel = MigrationCostModel(),
        budget: MigrationBudget = .unlimited
    ) {
        self.thresholds = thresholds
        self.costModel = costModel
        self.budget = budget
    }

    public func plan(_ snapshot: ClusterSnapshot) -> ConsolidationPlan {
        let cluster = ConsolidationCluster(snapshot: snapshot, mid: thresholds.mid, costModel: costModel)
        let candidates = cluster.hosts.indices.filter { cluster.isMovable[$0] && cluster.isUsed[$0] }

        var evictionCost = Array(repeating: MigrationCost.zero, count: cluster.hosts.count)
        var mustKeep = Array(repeating: false, count: cluster.hosts.count)
        var capacitySize = Array(repeating: 0.0, count: cluster.hosts.count)
        var demand = SIMD4<Double>(repeating: 0)
        var overBudget = 0
        for hostIndex in candidates {
            for vmIndex in cluster.vmsOnHost[hostIndex] {
                evictionCost[hostIndex] += cluster.costs[vmIndex]
            }
            if !budget.allows(evictionCost[hostIndex]) {
                overBudget += 1
            }
            mustKeep[hostIndex] =
                cluster.hasUnmovableLoad[hostIndex] || !evictionCost[hostIndex].converges
                || !budget.allows(evictionCost[hostIndex])
            capacitySize[hostIndex] = cluster.size(of: cluster.allowed[hostIndex])
            demand += cluster.use[hostIndex]
        }

        // Keep order: must-keep hosts, then largest, then most expensive to empty, then snapshot order.
        let keepOrder = candidates.sorted { a, b in
            if mustKeep[a] != mustKeep[b] { return mustKeep[a] }
            if capacitySize[a] != capacitySize[b] { return capacitySize[a] > capacitySize[b] }
            if evictionCost[a] != evictionCost[b] { return evictionCost[b] < evictionCost[a] }
            return a < b
        }
        var position = Array(repeating: -1, count: cluster.hosts.count)
        for (keepPosition, hostIndex) in keepOrder.enumerated() {
            position[hostIndex] = keepPosition
        }
        var index = ConsolidationCapacityIndex(count: keepOrder.count, reference: cluster.reference)
        var isKept = Array(repeating: false, count: cluster.hosts.count)
        var nextToKeep = 0
        func keep(_ hostIndex: Int) {
            isKept[hostIndex] = true
            index.setFree(cluster.free(of: hostIndex), at: position[hostIndex])
        }

        var covered = SIMD4<Double>(repeating: 0)
        let needed = demand * (1 - 1e-9)
        while nextToKeep < keepOrder.count, mustKeep[keepOrder[nextToKeep]] || any(covered .< needed) {
            covered += cluster.allowed[keepOrder[nextToKeep]]
            keep(keepOrder[nextToKeep])
            nextToKeep += 1
        }

        let toEmpty = keepOrder[nextToKeep...].sorted { a, b in
            if evictionCost[a] != evictionCost[b] { return evictionCost[a] < evictionCost[b] }
            if cluster.vmsOnHost[a].count != cluster.vmsOnHost[b].count {
                return cluster.vmsOnHost[a].count < cluster.vmsOnHost[b].count
            }
            return a < b
        }
        var isEmptied = Array(repeating: false, count: cluster.hosts.count)
        var moves: [MigrationMove] = []
        var freed: [Int] = []
        var spent = MigrationCost.zero
        var stoppedByBudget = false
        var placed: [(vmIndex: Int, position: Int, freeBefore: SIMD4<Double>)] = []
        for source in toEmpty where !isKept[source] {
            guard budget.allows(spent + evictionCost[source]) else {
                // Later hosts cost at least as much.
                stoppedByBudget = true
                break
            }
            let vmOrder = cluster.vmsLargestFirst(on: source)
            var fits = Self.place(vmOrder, cluster: cluster, index: &index, placed: &placed)
            if !fits {
                // Open the next host worth keeping that is still full, then try again.
                while nextToKeep < keepOrder.count {
                    let candidate = keepOrder[nextToKeep]
                    nextToKeep += 1
                    if !isEmptied[candidate] && !isKept[candidate] && candidate != source {
                        keep(candidate)
                        break
                    }
                }
                fits = Self.place(vmOrder, cluster: cluster, index: &index, placed: &placed)
            }
            guard fits else {
                keep(source)
                continue
            }
            isEmptied[source] = true
            freed.append(source)
            spent += evictionCost[source]
            for (vmIndex, destination, _) in placed {
                moves.append(cluster.move(vmIndex, from: source, to: keepOrder[destination]))
            }
        }

        let why: String
        if candidates.count < 2 {
            why = "nothing to consolidate: \(ConsolidationPlan.count(candidates.count, "active host")) with VMs"
        } else if stoppedByBudget || overBudget > 0 {
            why = "over budget: emptying the cheapest host costs more than \(budget)"
        } else {
            why = "no host can be freed: the load needs every host it is on within MID"
        }
        return ConsolidationPlan.checked(
            moves: moves,
            freed: freed,
            cluster: cluster,
            budget: budget,
            whyNothingFreed: why
        )
    }

    /// Places all of `vmOrder` first-fit on the kept hosts, or none: on failure every placement is undone.
    private static func place(
        _ vmOrder: [Int],
        cluster: ConsolidationCluster,
        index: inout ConsolidationCapacityIndex,
        placed: inout [(vmIndex: Int, position: Int, freeBefore: SIMD4<Double>)]
    ) -> Bool {
        placed.removeAll(keepingCapacity: true)
        for vmIndex in vmOrder {
            let demand = cluster.vms[vmIndex].estimated.simd
            guard let position = index.firstFit(demand, below: index.count) else {
                for (_, position, freeBefore) in placed.reversed() {
                    index.setFree(freeBefore, at: position)
                }
                placed.removeAll(keepingCapacity: true)
                return false
            }
            placed.append((vmIndex, position, index.free(at: position)))
            index.take(demand, at: position)
        }
        return true
    }
}
