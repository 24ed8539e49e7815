extension Relocation {
    /// The VMs to move off an overloaded host: fewest first, then cheapest; nil when even all of its movable VMs
    /// would not bring it back under MAX.
    func relief(for hostIndex: Int, in cluster: ConsolidationCluster) -> [Int]? {
        let capacity = cluster.hosts[hostIndex].capacity.simd
        let limit = capacity * thresholds.maximum.simd
        var excess = cluster.use[hostIndex] - limit
        excess.replace(with: 0, where: excess .< 0)
        // Rounding must not make a VM that exactly covers the excess look short of it.
        let slack = capacity.replacing(with: 1, where: capacity .< 1) * 1e-9
        func covers(_ removed: SIMD4<Double>) -> Bool { all(removed + slack .>= excess) }

        // Candidates cheapest first: the order every tie is broken in.
        let candidates = cluster.vmsOnHost[hostIndex]
            .filter { ConsolidationCluster.isValid(cluster.vms[$0].estimated.simd) }
            .sorted { (cluster.costs[$0], $0) < (cluster.costs[$1], $1) }
        let demand = { (vmIndex: Int) in cluster.vms[vmIndex].estimated.simd }

        if let single = candidates.first(where: { covers(demand($0)) }) {
            return [single]
        }

        // Greedy cover: each step takes the VM that covers most of what is still missing (as fractions of it).
        var chosen: [Int] = []
        var isChosen = Set<Int>()
        var removed = SIMD4<Double>(repeating: 0)
        while !covers(removed) {
            let missing = (excess - removed).replacing(with: 0, where: excess - removed .< 0)
            var best: Int?
            var bestCoverage = 0.0
            for vmIndex in candidates where !isChosen.contains(vmIndex) {
                let useful = demand(vmIndex).replacing(with: missing, where: missing .< demand(vmIndex))
                var fractions = useful / missing
                fractions.replace(with: 0, where: missing .<= 0)
                let coverage = fractions.sum()
                if coverage > bestCoverage {
                    best = vmIndex
                    bestCoverage = coverage
                }
            }
            guard let vmIndex = best else { return nil }
            chosen.append(vmIndex)
            isChosen.insert(vmIndex)
            removed += demand(vmIndex)
        }

        // Drop what is not needed, most expensive first.
        for vmIndex in chosen.sorted(by: { (cluster.costs[$1], $1) < (cluster.costs[$0], $0) })
        where covers(removed - demand(vmIndex)) {
            removed -= demand(vmIndex)
            chosen.removeAll { $0 == vmIndex }
            isChosen.remove(vmIndex)
        }
        // Swap each for the cheapest VM not chosen that still covers, keeping the count.
        for (slot, vmIndex) in chosen.enumerated() {
            for candidate in candidates where !isChosen.contains(candidate) {
                guard (cluster.costs[candidate], candidate) < (cluster.costs[vmIndex], vmIndex) else { break }
                let swapped = removed - demand(vmIndex) + demand(candidate)
                if covers(swapped) {
                    removed = swapped
                    chosen[slot] = candidate
                    isChosen.remove(vmIndex)
                    isChosen.insert(candidate)
                    break
                }
            }
        }
        return chosen.sorted { (cluster.costs[$0], $0) < (cluster.costs[$1], $1) }
    }

    /// Destination of each selected VM (nil where none), by one call to the placement policy on the destinations
    /// with capacities capped at MID.
    func place(
        _ selections: [(source: Int, vms: [Int])],
        on destinations: [Int],
        cluster: ConsolidationCluster
    ) -> [[Int?]] {
        let hosts = destinations.map { hostIndex in
            var host = cluster.hosts[hostIndex]
            host.capacity = host.capacity.scaled(by: thresholds.mid)
            return host
        }
        let requests = selections.flatMap { selection in selection.vms.map { cluster.vms[$0].request } }
        let plan = placement.place(requests, on: ClusterSnapshot(hosts: hosts))
        var destinationOf: [String: Int] = [:]
        for assignment in plan.assignments where assignment.hostIndex < destinations.count {
            destinationOf[assignment.vmID] = destinations[assignment.hostIndex]
        }
        return selections.map { selection in selection.vms.map { destinationOf[cluster.vms[$0].id] } }
    }

    /// "cpu 95 % > MAX 90 %, memory 93 % > MAX 90 %": each dimension above MAX.
    static func describeOverload(_ fractions: SIMD4<Double>, maximum: SIMD4<Double>) -> String {
        ResourceDimension.allCases.filter { fractions[$0.rawValue] > maximum[$0.rawValue] }.map { dimension in
            describe(dimension, fractions, "> MAX", maximum)
        }.joined(separator: ", ")
    }

    /// "highest cpu 12.5 % < MIN 20 %": every dimension is below MIN, so the one closest to it says enough.
    static func describeUnderload(_ fractions: SIMD4<Double>, minimum: SIMD4<Double>) -> String {
        let margins = fractions - minimum
        let closest = ResourceDimension.allCases.max { margins[$0.rawValue] < margins[$1.rawValue] } ?? .cpu
        return "highest " + describe(closest, fractions, "< MIN", minimum)
    }

    private static func describe(
        _ dimension: ResourceDimension,
        _ fractions: SIMD4<Double>,
        _ comparison: String,
        _ thresholds: SIMD4<Double>
    ) -> String {
        let value = fractions[dimension.rawValue]
        let shown = value.isFinite ? "\(ResourceFormatting.decimal(value * 100)) %" : "∞"
        let threshold = ResourceFormatting.decimal(thresholds[dimension.rawValue] * 100)
        return "\(dimension) \(shown) \(comparison) \(threshold) %"
    }
}
