/// What placing CPU demand costs in power at each host, in the same tree layout as `FreeCapacityIndex`, so that a
/// cheapest-fit search can bound the cost of whole subtrees: each node keeps the smallest fixed cost (the power of
/// waking a sleeping host) and the smallest watts per core that any further load costs below it.
struct PowerCostIndex {
    private let leafBase: Int
    private var minimumBase: [Double]
    private var minimumWattsPerCore: [Double]
    /// Per position: the host's model, CPU capacity and CPU in use, and whether it must be woken to be used.
    private let models: [HostPowerModel]
    private let cpuCapacity: [Double]
    private var cpuInUse: [Double]
    private var asleep: [Bool]

    init(workspace: PlacementWorkspace, defaultModel: HostPowerModel) {
        var base = 1
        while base < workspace.order.count {
            base *= 2
        }
        leafBase = base
        let hosts = workspace.order.map { workspace.hosts[$0] }
        models = hosts.map { $0.powerModel ?? defaultModel }
        cpuCapacity = hosts.map(\.capacity.cpuCores)
        cpuInUse = hosts.map(\.estimatedUse.cpuCores)
        asleep = hosts.map { $0.state == .sleeping }
        // Padding leaves are never searched; an infinite base keeps them out of every bound.
        minimumBase = Array(repeating: .infinity, count: 2 * base)
        minimumWattsPerCore = Array(repeating: 0, count: 2 * base)
        for position in hosts.indices {
            setLeaf(position)
        }
        var node = base - 1
        while node >= 1 {
            pull(node)
            node -= 1
        }
    }

    /// Calls `body` with the ranking for one search, for a VM asking for `cores`.
    func withRanking<Result>(forCores cores: Double, _ body: (Ranking) -> Result) -> Result {
        minimumBase.withUnsafeBufferPointer { minimumBase in
            minimumWattsPerCore.withUnsafeBufferPointer { minimumWattsPerCore in
                models.withUnsafeBufferPointer { models in
                    cpuCapacity.withUnsafeBufferPointer { cpuCapacity in
                        cpuInUse.withUnsafeBufferPointer { cpuInUse in
                            body(
                                Ranking(
                                    leafBase: leafBase,
                                    minimumBase: minimumBase,
                                    minimumWattsPerCore: minimumWattsPerCore,
                                    models: models,
                                    cpuCapacity: cpuCapacity,
                                    cpuInUse: cpuInUse,
                                    cores: cores
                                )
                            )
                        }
                    }
                }
            }
        }
    }

    /// Records `cores` more in use at `position`, which is awake (or being woken by this plan) from now on.
    mutating func charge(cores: Double, at position: Int) {
        cpuInUse[position] += cores
        asleep[position] = false
        setLeaf(position)
        var node = (leafBase + position) / 2
        while node >= 1 {
            pull(node)
            node /= 2
        }
    }

    /// Takes the host at `position` out of every bound: no VM left in the plan fits there.
    mutating func retire(at position: Int) {
        minimumBase[leafBase + position] = .infinity
        minimumWattsPerCore[leafBase + position] = 0
        var node = (leafBase + position) / 2
        while node >= 1 {
            pull(node)
            node /= 2
        }
    }

    private mutating func setLeaf(_ position: Int) {
        let capacity = cpuCapacity[position]
        let utilization = capacity > 0 ? cpuInUse[position] / capacity : 0
        let model = models[position]
        minimumBase[leafBase + position] = asleep[position] ? model.watts(atUtilization: utilization) : 0
        minimumWattsPerCore[leafBase + position] =
            capacity > 0 ? model.minimumSlope(from: utilization) / capacity : 0
    }

    private mutating func pull(_ node: Int) {
        minimumBase[node] = Swift.min(minimumBase[2 * node], minimumBase[2 * node + 1])
        minimumWattsPerCore[node] = Swift.min(minimumWattsPerCore[2 * node], minimumWattsPerCore[2 * node + 1])
    }

    /// Power growth as a cheapest-fit ranking. The cost only grows with the cores asked for, so what a search
    /// learns holds for any demand with at least as many cores. It reads the index through pointers: copied into
    /// every step of a search, arrays would cost a retain and a release each.
    struct Ranking: HostRanking {
        let leafBase: Int
        let minimumBase: UnsafeBufferPointer<Double>
        let minimumWattsPerCore: UnsafeBufferPointer<Double>
        let models: UnsafeBufferPointer<HostPowerModel>
        let cpuCapacity: UnsafeBufferPointer<Double>
        let cpuInUse: UnsafeBufferPointer<Double>
        let cores: Double

        var costDemand: SIMD4<Double> { SIMD4(cores, 0, 0, 0) }

        func lowerBound(node: Int, keys: UnsafeBufferPointer<Double>) -> Double {
            minimumBase[node] + cores * minimumWattsPerCore[node]
        }

        /// Watts the host adds when it takes the cores: the growth along its model, plus its whole power when it
        /// must be woken. Never below the leaf's bound (they differ only by rounding), so that no subtree's bound,
        /// computed with the same rounding, exceeds a cost below it.
        func cost(node: Int, position: Int, keys: UnsafeBufferPointer<Double>) -> Double {
            let base = minimumBase[node]
            let bound = base + cores * minimumWattsPerCore[node]
            let capacity = cpuCapacity[position]
            // Without CPU capacity there is no utilisation to move along the model.
            guard capacity > 0 else { return Swift.max(base, bound) }
            let model = models[position]
            let before = model.watts(atUtilization: cpuInUse[position] / capacity)
            let after = model.watts(atUtilization: (cpuInUse[position] + cores) / capacity)
            return Swift.max(base + (after - before), bound)
        }
    }
}
