/// Power-aware best fit decreasing (Beloglazov's PABFD, as in CloudSim): VMs by decreasing CPU demand, each on the
/// host whose power grows least with it, among the hosts it fits; active hosts first, then waking ones, then
/// sleeping ones. Waking a host costs its whole power at the new load; a host this plan already wakes costs only the
/// growth. Power comes from each host's `powerModel`, or `defaultModel` for a host without one.
public struct PowerAwarePlacement: PlacementPolicy {
    /// Snooze's MID threshold: a host is filled to at most this fraction of its capacity in each dimension.
    public var fillLimit: ResourceFractions
    /// The dimensions a host must have room in; `[.cpu]` reproduces CloudSim, which checks CPU only.
    public var dimensions: Set<ResourceDimension>
    /// The model of hosts whose snapshot carries none.
    public var defaultModel: HostPowerModel

    public init(
        fillLimit: ResourceFractions = .one,
        dimensions: Set<ResourceDimension> = Set(ResourceDimension.allCases),
        defaultModel: HostPowerModel = .defaultLinear
    ) {
        self.fillLimit = fillLimit
        self.dimensions = dimensions
        self.defaultModel = defaultModel
    }

    public func place(_ vms: [VMRequest], on snapshot: ClusterSnapshot) -> PlacementPlan {
        var workspace = PlacementWorkspace(
            snapshot: snapshot,
            fillLimit: fillLimit,
            norm: .l1,
            vmCount: vms.count,
            dimensions: dimensions
        )
        var costs = PowerCostIndex(workspace: workspace, defaultModel: defaultModel)
        // Invalid demands are rejected anyway; a finite size keeps the sort's ordering strict.
        let cores = vms.map { vm in PlacementWorkspace.isValid(vm.estimated.simd) ? vm.estimated.cpuCores : -1 }
        let placementOrder = vms.indices.sorted { cores[$0] > cores[$1] || (cores[$0] == cores[$1] && $0 < $1) }
        let smallestRemaining = PlacementWorkspace.smallestRemaining(of: vms, in: placementOrder)
        for (step, vmIndex) in placementOrder.enumerated() {
            let placed = workspace.placeByTier(vms[vmIndex]) { index, demand, tier in
                costs.withRanking(forCores: demand[0]) { ranking in
                    index.cheapestFit(demand, in: tier, ranking: ranking)
                }
            }
            if let position = placed {
                costs.charge(cores: vms[vmIndex].estimated.cpuCores, at: position)
                if workspace.retireIfFull(at: position, smallestRemaining: smallestRemaining[step + 1]) {
                    costs.retire(at: position)
                }
            }
        }
        return workspace.plan()
    }
}
