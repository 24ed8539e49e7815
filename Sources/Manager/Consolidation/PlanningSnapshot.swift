import Placement

/// One VM as relocation and consolidation see it.
public struct PlanningVM: Sendable, Hashable {
    /// The store's id (lower-case UUID).
    public var id: String
    public var name: String
    public var hostID: String
    public var requested: ResourceVector
    public var estimated: ResourceVector
    /// Memory a migration copies: what the VM was given.
    public var memoryBytes: Double
    /// How fast the guest dirties its memory, when known (from a migration's progress); nil otherwise.
    public var dirtyRateBytesPerSecond: Double?
    /// Only a running VM is migrated; a suspended, shutting-down or unreachable one holds its host.
    public var movable: Bool

    public init(
        id: String,
        name: String,
        hostID: String,
        requested: ResourceVector,
        estimated: ResourceVector,
        memoryBytes: Double,
        dirtyRateBytesPerSecond: Double? = nil,
        movable: Bool = true
    ) {
        self.id = id
        self.name = name
        self.hostID = hostID
        self.requested = requested
        self.estimated = estimated
        self.memoryBytes = memoryBytes
        self.dirtyRateBytesPerSecond = dirtyRateBytesPerSecond
        self.movable = movable
    }
}

/// The cluster a relocation or consolidation plan starts from: hosts with state, capacity and estimated use, and
/// the VMs on them with what they asked for and are estimated to use.
public struct PlanningSnapshot: Sendable, Hashable {
    public var cluster: ClusterSnapshot
    public var vms: [PlanningVM]
    /// Hosts with a migration in or out: neither source nor destination of a new move.
    public var migratingHosts: Set<String>

    public init(cluster: ClusterSnapshot, vms: [PlanningVM], migratingHosts: Set<String> = []) {
        self.cluster = cluster
        self.vms = vms
        self.migratingHosts = migratingHosts
    }
}

/// One host as the group leader hands it to the snapshot builder.
public struct PlanningHost: Sendable, Hashable {
    public var id: String
    public var capacity: ResourceVector
    /// Placement's view: ACTIVE and connected, asleep, waking, or failed (never used).
    public var state: HostState

    public init(id: String, capacity: ResourceVector, state: HostState) {
        self.id = id
        self.capacity = capacity
        self.state = state
    }
}

/// Builds the planning snapshot from the manager's state: the leader's hosts and VMs, and the group manager's
/// monitoring through the estimator. Pure: the same inputs give the same snapshot.
public enum PlanningSnapshotBuilder {
    /// - Parameters:
    ///   - hosts: every known host with its placement state.
    ///   - vms: the stored VMs; those holding a host (running, suspended, shutting down, unreachable, duplicated,
    ///     starting) are counted on it, and only running ones may move.
    ///   - demands: the group manager's samples per VM; a VM's samples count only from the host the store
    ///     places it on (after a migration, the old host's ring still names it until its next inventory).
    ///   - estimator: `estimator.*`; a VM without samples counts at its request × packing density.
    ///   - migratingHosts: hosts with a migration in or out.
    public static func build(
        hosts: [PlanningHost],
        vms: [StoredVM],
        demands: [VMDemand],
        estimator: Estimator,
        migratingHosts: Set<String> = []
    ) -> PlanningSnapshot {
        var samples: [String: [ResourceVector]] = [:]
        for demand in demands { samples["\(demand.hostID)/\(demand.vmID)"] = demand.samples }
        let known = Set(hosts.map(\.id))
        var planned: [PlanningVM] = []
        var use: [String: ResourceVector] = [:]
        var onHost: [String: [String]] = [:]
        for vm in vms.sorted(by: { $0.id < $1.id }) {
            guard let host = vm.hostID, known.contains(host), holdsHost.contains(vm.state) else { continue }
            let requested = vm.requested
            let estimated = estimator.estimate(samples: samples["\(host)/\(vm.id)"] ?? [], requested: requested)
            planned.append(
                PlanningVM(
                    id: vm.id,
                    name: vm.name,
                    hostID: host,
                    requested: requested,
                    estimated: estimated,
                    memoryBytes: Double(vm.memoryBytes),
                    movable: vm.state == .running
                )
            )
            use[host, default: .zero] += estimated
            onHost[host, default: []].append(vm.id)
        }
        let snapshotHosts = hosts.sorted { $0.id < $1.id }.map { host in
            HostSnapshot(
                id: host.id,
                capacity: host.capacity,
                state: host.state,
                estimatedUse: use[host.id] ?? .zero,
                vmIDs: onHost[host.id] ?? []
            )
        }
        return PlanningSnapshot(
            cluster: ClusterSnapshot(hosts: snapshotHosts),
            vms: planned,
            migratingHosts: migratingHosts.intersection(known)
        )
    }

    /// VM states in which the guest is, or may be, on its host.
    static let holdsHost: Set<StoredVM.State> = [
        .starting, .running, .suspended, .shuttingDown, .unreachable, .duplicated,
    ]
}
