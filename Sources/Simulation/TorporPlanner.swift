import Placement

/// One interval of Torpor's own policies on the simulated cluster: the cluster becomes a `ClusterSnapshot` the way
/// the manager's would look (each VM at its estimated demand, hosts with their VMs), the shared
/// `ClusterLoadPlanner` decides, and its moves are applied. Relocation runs every interval (the manager refreshes
/// far more often than the traces' 5 minutes, so every interval is a refresh); consolidation when `runs` says so,
/// on the cluster relocation left, with the hosts relocation touched busy as the manager's migrating hosts are.
struct TorporPlanner {
    var policy: TorporPolicy
    var planner: ClusterLoadPlanner

    /// `placement`: the manager's `placement_policy`, which also picks relocation's destinations.
    init(policy: TorporPolicy, placement: SimulationPolicy.InitialPlacement = .firstFit) {
        self.policy = policy
        switch placement {
        case .firstFit: self.planner = policy.planner
        case .powerAware: self.planner = policy.planner(placement: PowerAwarePlacement())
        }
    }

    /// Relocation's MAX for CPU: above it a host counts as overloaded.
    var maximumCPU: Double { policy.thresholds.maximum[.cpu] }

    /// `states`: each host's power state (nil: all active, the CloudSim profile); `countsMemory`: VMs charge their
    /// memory to their hosts (the realistic profile).
    func plan(
        _ cluster: inout SimulatedCluster,
        consolidate: Bool,
        states: [HostState]? = nil,
        countsMemory: Bool = false
    ) -> [BeloglazovPlanner.Migration] {
        var migrations: [BeloglazovPlanner.Migration] = []
        var busy = Set<String>()
        if policy.relocationEnabled {
            let plan = planner.relocation(cluster.snapshot(states: states, countsMemory: countsMemory))
            migrations += apply(plan.moves, to: &cluster)
            for move in plan.moves {
                busy.insert(move.fromHostID)
                busy.insert(move.toHostID)
            }
        }
        if consolidate {
            var snapshot = cluster.snapshot(states: states, countsMemory: countsMemory)
            snapshot.busyHostIDs = busy
            if let plan = planner.consolidation(snapshot) {
                migrations += apply(plan.moves, to: &cluster)
            }
        }
        return migrations
    }

    private func apply(_ moves: [MigrationMove], to cluster: inout SimulatedCluster) -> [BeloglazovPlanner.Migration] {
        moves.compactMap { move in
            guard let vm = SimulatedCluster.index(move.vmID), let to = SimulatedCluster.index(move.toHostID) else {
                return nil
            }
            let from = cluster.vmHost[vm]
            guard from != to else { return nil }
            cluster.move(vm, to: to)
            return BeloglazovPlanner.Migration(vm: vm, from: from, to: to)
        }
    }
}

extension SimulatedCluster {
    /// Host and VM ids in the snapshot: "host-0042", "vm-0007", zero-padded so they sort in index order as the
    /// manager sorts its hosts and VMs by id.
    static func hostID(_ index: Int) -> String { "host-" + padded(index) }
    static func vmID(_ index: Int) -> String { "vm-" + padded(index) }

    /// The index in an id made by `hostID` or `vmID`.
    static func index(_ id: String) -> Int? {
        guard let dash = id.lastIndex(of: "-") else { return nil }
        return Int(id[id.index(after: dash)...])
    }

    private static func padded(_ index: Int) -> String {
        let digits = String(index)
        return String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// CPU in thousands of MIPS: the policies compare fractions of capacity, so the unit does not matter.
    static let mipsPerCPUUnit = 1000.0

    /// The cluster as the manager would hand it to the policies: every VM at its estimated demand (this interval's
    /// trace value: one 5-minute sample covers the manager's whole estimator window), hosts with their VMs. In the
    /// CloudSim profile only CPU counts: VMs ask for no memory, though a migration copies all of it; every host is
    /// active, an empty one off and free to switch on. In the realistic profile VMs ask for their memory and hosts
    /// are in their power states.
    func snapshot(states: [HostState]? = nil, countsMemory: Bool = false) -> ClusterSnapshot {
        let estimator = Estimator(window: 1)
        var use = Array(repeating: ResourceVector.zero, count: hostCount)
        var vms: [VMSnapshot] = []
        vms.reserveCapacity(vmCount)
        for vm in 0..<vmCount where vmHost[vm] >= 0 {
            let memory = countsMemory ? vmMemory[vm] : 0
            let requested = ResourceVector(cpuCores: vmMips[vm] / Self.mipsPerCPUUnit, memoryBytes: memory)
            let sample = ResourceVector(cpuCores: demand[vm] / Self.mipsPerCPUUnit, memoryBytes: memory)
            let estimated = estimator.estimate(samples: [sample], requested: requested)
            use[vmHost[vm]] += estimated
            vms.append(
                VMSnapshot(
                    id: Self.vmID(vm),
                    hostID: Self.hostID(vmHost[vm]),
                    requested: requested,
                    estimated: estimated,
                    memoryToCopyBytes: vmMemory[vm]
                )
            )
        }
        let hosts = (0..<hostCount).map { host in
            HostSnapshot(
                id: Self.hostID(host),
                capacity: ResourceVector(
                    cpuCores: hostCapacity[host] / Self.mipsPerCPUUnit,
                    memoryBytes: hostMemory[host]
                ),
                state: states?[host] ?? .active,
                estimatedUse: use[host],
                vmIDs: hostVMs[host].sorted().map(Self.vmID),
                powerModel: hostPower[host]
            )
        }
        return ClusterSnapshot(hosts: hosts, vms: vms)
    }
}
