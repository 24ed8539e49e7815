/// Explains why no host could take a VM, naming the tightest dimension and the host that came closest.
enum UnplacedReason {
    static func invalidDemand(vmID: String) -> UnplacedVM {
        UnplacedVM(
            vmID: vmID,
            tightestDimension: nil,
            reason: "invalid demand: every component must be finite and not negative"
        )
    }

    static func explain(vmID: String, demand: SIMD4<Double>, in workspace: PlacementWorkspace) -> UnplacedVM {
        let index = workspace.index
        guard index.count > 0 else {
            let reason =
                workspace.hosts.isEmpty
                ? "no hosts in the snapshot" : "no usable host: all \(workspace.hosts.count) failed"
            return UnplacedVM(vmID: vmID, tightestDimension: nil, reason: reason)
        }

        // A dimension in which even the freest host falls short is the whole story.
        let maximumFree = index.maximumFree
        var shortDimension: Int?
        var shortCoverage = Double.infinity
        for dimension in 0..<4 where !(demand[dimension] <= maximumFree[dimension]) {
            let coverage = coverage(of: demand[dimension], by: maximumFree[dimension])
            if coverage < shortCoverage {
                shortDimension = dimension
                shortCoverage = coverage
            }
        }
        if let dimension = shortDimension, let position = index.positionOfMaximumFree(in: dimension) {
            return describe(
                vmID: vmID,
                dimension: dimension,
                demand: demand,
                position: position,
                template: { needed, host, available in "no host has \(needed); most free: \(host) with \(available)" },
                in: workspace
            )
        }

        // Every dimension fits somewhere, but not all on one host: name the host closest to fitting and what
        // it lacks most.
        let (closestPosition, closestDimension) = closestHost(to: demand, in: index)
        return describe(
            vmID: vmID,
            dimension: closestDimension,
            demand: demand,
            position: closestPosition,
            template: { needed, host, available in
                "no host has \(needed) alongside the rest of the demand; closest: \(host) with \(available)"
            },
            in: workspace
        )
    }

    /// The host whose worst-covered dimension is covered best, and that dimension.
    private static func closestHost(to demand: SIMD4<Double>, in index: FreeCapacityIndex) -> (Int, Int) {
        let zero = SIMD4<Double>(repeating: 0)
        let unbounded = SIMD4<Double>(repeating: .infinity)
        let hasDemand = demand .> zero
        return index.withFreeCapacities { freeCapacities in
            var closestPosition = 0
            var closestCoverage = -Double.infinity
            for (position, free) in freeCapacities.enumerated() {
                let coverage = coverage(of: demand, by: free, hasDemand: hasDemand, zero: zero, unbounded: unbounded)
                let worst = coverage.min()
                if worst > closestCoverage {
                    closestCoverage = worst
                    closestPosition = position
                }
            }
            let coverage = coverage(
                of: demand,
                by: freeCapacities[closestPosition],
                hasDemand: hasDemand,
                zero: zero,
                unbounded: unbounded
            )
            let worst = coverage.min()
            let dimension = (0..<4).first { coverage[$0] == worst } ?? 0
            return (closestPosition, dimension)
        }
    }

    /// Per dimension: infinity where `free` already covers `demand`, else the covered fraction as in
    /// `coverage(of:by:)`.
    private static func coverage(
        of demand: SIMD4<Double>,
        by free: SIMD4<Double>,
        hasDemand: SIMDMask<SIMD4<Int64>>,
        zero: SIMD4<Double>,
        unbounded: SIMD4<Double>
    ) -> SIMD4<Double> {
        var coverage = free.replacing(with: zero, where: free .< zero) / demand
        coverage.replace(with: zero, where: .!hasDemand)
        coverage.replace(with: unbounded, where: demand .<= free)
        return coverage
    }

    /// How much of `demand` `free` covers, 0 when nothing is free (including a zero demand on an over-full host).
    private static func coverage(of demand: Double, by free: Double) -> Double {
        demand > 0 ? Swift.max(free, 0) / demand : 0
    }

    private static func describe(
        vmID: String,
        dimension rawDimension: Int,
        demand: SIMD4<Double>,
        position: Int,
        template: (_ needed: String, _ host: String, _ available: String) -> String,
        in workspace: PlacementWorkspace
    ) -> UnplacedVM {
        let dimension = ResourceDimension.allCases[rawDimension]
        let host = workspace.hosts[workspace.order[position]]
        let available = Swift.max(workspace.reportedFree(at: position)[rawDimension], 0)
        let reason = template(
            ResourceFormatting.freeAmount(demand[rawDimension], of: dimension),
            host.id,
            ResourceFormatting.amount(available, of: dimension)
        )
        return UnplacedVM(vmID: vmID, tightestDimension: dimension, reason: reason)
    }
}
