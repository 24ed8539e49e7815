/// Torpor's consolidation: packs the load onto the fewest hosts while migrating as few VMs (or, by `objective`, as
/// little memory) as it can.
///
/// 1. Hosts to keep: hosts that cannot be emptied (unaccounted load, a VM that would not converge, or one whose
///    evacuation alone exceeds the budget) first, then the largest (capacity within MID), among equals those with
///    the most VMs and then the most expensive to evacuate (`objective` `.fewestMigrations`, the default) or only
///    the most expensive (`.leastMigrationTime`); taken until their capacity covers the whole load, as the lower
///    bound does.
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
    /// Which hosts of one size to keep: by default those with the most VMs, so the fewest VMs migrate.
    public var objective: Objective = .fewestMigrations
    /// Hosts kept beyond those the load needs, as a share of them (0.04: 4 more per 100), chosen among the others for
    /// the most VMs: each one's VMs stay where they are. Fewer migrations and more headroom for a little energy.
    public var spareHostShare: Double = 0

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

        // Keep order: must-keep hosts, then largest, then what the objective saves most by keeping, then snapshot
        // order.
        let objective = objective
        func keptFirst(_ a: Int, _ b: Int) -> Bool {
            if mustKeep[a] != mustKeep[b] { return mustKeep[a] }
            if capacitySize[a] != capacitySize[b] { return capacitySize[a] > capacitySize[b] }
            if objective == .fewestMigrations, cluster.vmsOnHost[a].count != cluster.vmsOnHost[b].count {
                return cluster.vmsOnHost[a].count > cluster.vmsOnHost[b].count
            }
            if evictionCost[a] != evictionCost[b] { return evictionCost[b] < evictionCost[a] }
            return a < b
        }
        var keepOrder = candidates.sorted(by: keptFirst)

        // The first hosts in keep order that cover the whole load within MID (every must-keep host among them).
        var coveredCount = 0
        var covered = SIMD4<Double>(repeating: 0)
        let needed = demand * (1 - 1e-9)
        while coveredCount < keepOrder.count, mustKeep[keepOrder[coveredCount]] || any(covered .< needed) {
            covered += cluster.allowed[keepOrder[coveredCount]]
            coveredCount += 1
        }
        if objective == .fewestMigrations {
            Self.swapInHostsWithMoreVMs(
                &keepOrder,
                coveredCount: coveredCount,
                slack: covered - needed,
                mustKeep: mustKeep,
                evictionCost: evictionCost,
                cluster: cluster,
                keptFirst: keptFirst
            )
        }
        let spareCount = min(
            keepOrder.count - coveredCount,
            Int((Double(coveredCount) * max(0, spareHostShare)).rounded(.down))
        )
        if spareCount > 0 {
            Self.keepSpareHostsWithMostVMs(
                spareCount,
                &keepOrder,
                coveredCount: coveredCount,
                evictionCost: evictionCost,
                cluster: cluster,
                keptFirst: keptFirst
            )
            coveredCount += spareCount
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

        while nextToKeep < coveredCount {
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
            why = cluster.nothingToConsolidate(candidateCount: candidates.count)
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

    /// Hosts of nearly one size rarely tie on size, so the VM count barely chose among them: the kept host with the
    /// fewest VMs is swapped for the unkept host with the most, as long as it has more and the kept capacity still
    /// covers the load (`slack` is what the kept hosts hold beyond it), skipping unkept hosts too small to replace
    /// it. Kept and unkept hosts are then each in keep order again.
    private static func swapInHostsWithMoreVMs(
        _ keepOrder: inout [Int],
        coveredCount: Int,
        slack: SIMD4<Double>,
        mustKeep: [Bool],
        evictionCost: [MigrationCost],
        cluster: ConsolidationCluster,
        keptFirst: (Int, Int) -> Bool
    ) {
        let firstOptional = keepOrder[..<coveredCount].firstIndex { !mustKeep[$0] } ?? coveredCount
        func vmCount(_ hostIndex: Int) -> Int { cluster.vmsOnHost[hostIndex].count }
        var kept = keepOrder[firstOptional..<coveredCount].sorted { a, b in
            if vmCount(a) != vmCount(b) { return vmCount(a) < vmCount(b) }
            if evictionCost[a] != evictionCost[b] { return evictionCost[a] < evictionCost[b] }
            return a < b
        }
        var unkept = keepOrder[coveredCount...].sorted { a, b in
            if vmCount(a) != vmCount(b) { return vmCount(a) > vmCount(b) }
            if evictionCost[a] != evictionCost[b] { return evictionCost[b] < evictionCost[a] }
            return a < b
        }
        var slack = slack
        var keptIndex = 0
        var unkeptIndex = 0
        var swapped = false
        while keptIndex < kept.count, unkeptIndex < unkept.count,
            vmCount(unkept[unkeptIndex]) > vmCount(kept[keptIndex])
        {
            let change = cluster.allowed[unkept[unkeptIndex]] - cluster.allowed[kept[keptIndex]]
            if all(slack + change .>= 0) {
                slack += change
                (kept[keptIndex], unkept[unkeptIndex]) = (unkept[unkeptIndex], kept[keptIndex])
                keptIndex += 1
                swapped = true
            }
            unkeptIndex += 1
        }
        guard swapped else { return }
        keepOrder.replaceSubrange(firstOptional..<coveredCount, with: kept.sorted(by: keptFirst))
        keepOrder.replaceSubrange(coveredCount..., with: unkept.sorted(by: keptFirst))
    }

    /// Moves the `count` unkept hosts with the most VMs (then the costliest to empty) into the kept part of
    /// `keepOrder`; both parts are then each in keep order again.
    private static func keepSpareHostsWithMostVMs(
        _ count: Int,
        _ keepOrder: inout [Int],
        coveredCount: Int,
        evictionCost: [MigrationCost],
        cluster: ConsolidationCluster,
        keptFirst: (Int, Int) -> Bool
    ) {
        func vmCount(_ hostIndex: Int) -> Int { cluster.vmsOnHost[hostIndex].count }
        let unkept = keepOrder[coveredCount...].sorted { a, b in
            if vmCount(a) != vmCount(b) { return vmCount(a) > vmCount(b) }
            if evictionCost[a] != evictionCost[b] { return evictionCost[b] < evictionCost[a] }
            return a < b
        }
        let kept = (keepOrder[..<coveredCount] + unkept.prefix(count)).sorted(by: keptFirst)
        keepOrder = kept + unkept.dropFirst(count).sorted(by: keptFirst)
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
