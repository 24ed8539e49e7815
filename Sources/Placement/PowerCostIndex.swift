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
    /// Bounds are lowered by this much so that rounding in the exact costs never makes a bound exceed one.
    private let slack: Double

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
        slack = 1e-9 * (1 + models.reduce(0) { Swift.max($0, $1.watts.last ?? 0) })
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

    /// The ranking for one search, for a VM asking for `cores`.
    func ranking(forCores cores: Double) -> Ranking {
        Ranking(costs: self, cores: cores)
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

    /// Watts the host at `position` adds when it takes `cores` more: the growth along its model, plus its whole
    /// power when it must be woken.
    func cost(of cores: Double, at position: Int) -> Double {
        let capacity = cpuCapacity[position]
        // Without CPU capacity there is no utilisation to move along the model.
        guard capacity > 0 else { return asleep[position] ? models[position].watts(atUtilization: 0) : 0 }
        let model = models[position]
        let before = model.watts(atUtilization: cpuInUse[position] / capacity)
        let after = model.watts(atUtilization: (cpuInUse[position] + cores) / capacity)
        return (asleep[position] ? before : 0) + (after - before)
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
    /// learns holds for any demand with at least as many cores.
    struct Ranking: HostRanking {
        let costs: PowerCostIndex
        let cores: Double

        var costDemand: SIMD4<Double> { SIMD4(cores, 0, 0, 0) }

        func lowerBound(node: Int, keys: UnsafeBufferPointer<Double>) -> Double {
            costs.minimumBase[node] + cores * costs.minimumWattsPerCore[node] - costs.slack
        }

        func cost(node: Int, position: Int, keys: UnsafeBufferPointer<Double>) -> Double {
            costs.cost(of: cores, at: position)
        }
    }
}
