/// Snooze's modified Sercon, the baseline: active hosts carrying load are sorted most loaded first (by `norm` of
/// their use as fractions of capacity); starting from the least loaded, each host's VMs (largest first) go
/// first-fit onto the hosts before it in that order, within MID; if all of them fit the host is freed, otherwise
/// its moves are undone. Migration cost plays no part. The order is taken once at the start (Snooze re-sorts after
/// each host; a segment tree over a fixed order keeps this n log n). The whole plan must fit the budget.
public struct SerconConsolidation: ConsolidationPolicy {
    public var thresholds: RelocationThresholds
    public var costModel: MigrationCostModel
    public var budget: MigrationBudget
    public var norm: VectorNorm

    public init(
        thresholds: RelocationThresholds = .default,
        costModel: MigrationCostModel = MigrationCostModel(),
        budget: MigrationBudget = .unlimited,
        norm: VectorNorm = .l1
    ) {
        self.thresholds = thresholds
        self.costModel = costModel
        self.budget = budget
        self.norm = norm
    }

    public func plan(_ snapshot: ClusterSnapshot) -> ConsolidationPlan {
        let cluster = ConsolidationCluster(snapshot: snapshot, mid: thresholds.mid, costModel: costModel)
        let candidates = cluster.hosts.indices.filter { cluster.isMovable[$0] && cluster.isUsed[$0] }
        let loads = candidates.map { cluster.load(of: $0, norm: norm) }
        let order = candidates.indices.sorted { loads[$0] > loads[$1] || (loads[$0] == loads[$1] && $0 < $1) }
            .map { candidates[$0] }

        var index = ConsolidationCapacityIndex(count: order.count, reference: cluster.reference)
        for (position, hostIndex) in order.enumerated() {
            index.setFree(cluster.free(of: hostIndex), at: position)
        }
        var freed: [Int] = []
        var tentative: [(vmIndex: Int, position: Int, freeBefore: SIMD4<Double>)] = []
        // A host that took VMs and is emptied later sends them on: each VM keeps one move, from where it runs now
        // to where it ends.
        var received = Array(repeating: [Int](), count: cluster.hosts.count)
        var origin = Array(repeating: -1, count: cluster.vms.count)
        var destination = Array(repeating: -1, count: cluster.vms.count)
        var moveOrder: [Int] = []
        for sourcePosition in order.indices.reversed() where sourcePosition > 0 {
            let source = order[sourcePosition]
            guard !cluster.hasUnmovableLoad[source] else { continue }
            tentative.removeAll(keepingCapacity: true)
            var allFit = true
            for vmIndex in cluster.largestFirst(cluster.vmsOnHost[source] + received[source]) {
                let demand = cluster.vms[vmIndex].estimated.simd
                guard let position = index.firstFit(demand, below: sourcePosition) else {
                    allFit = false
                    break
                }
                tentative.append((vmIndex, position, index.free(at: position)))
                index.take(demand, at: position)
            }
            if allFit {
                freed.append(source)
                for (vmIndex, position, _) in tentative {
                    if origin[vmIndex] < 0 {
                        origin[vmIndex] = source
                        moveOrder.append(vmIndex)
                    }
                    destination[vmIndex] = order[position]
                    received[order[position]].append(vmIndex)
                }
            } else {
                for (_, position, freeBefore) in tentative.reversed() {
                    index.setFree(freeBefore, at: position)
                }
            }
        }
        let moves = moveOrder.map { cluster.move($0, from: origin[$0], to: destination[$0]) }
        return ConsolidationPlan.checked(
            moves: moves,
            freed: freed,
            cluster: cluster,
            budget: budget,
            whyNothingFreed: candidates.count < 2
                ? cluster.nothingToConsolidate(candidateCount: candidates.count)
                : "no host can be freed: the VMs of each do not all fit on the more loaded hosts within MID"
        )
    }
}
