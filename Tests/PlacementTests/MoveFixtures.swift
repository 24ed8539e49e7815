import Placement

/// Clusters for relocation and consolidation tables: each host lists its VMs, and its estimated use is their sum.
enum MoveFixtures {
    static let gibibyte = Fixtures.gibibyte
    static let megabyte = 1_000_000.0

    struct VM {
        var id: String
        var cores: Double
        var gib: Double = 1
        /// Memory dirty rate in MB/s.
        var dirtyMBps: Double = 0
    }

    struct Host {
        var id: String
        var cores: Double = 16
        var gib: Double = 64
        var state: HostState = .active
        var vms: [VM] = []
    }

    static func vm(_ id: String, cores: Double, gib: Double = 1, dirtyMBps: Double = 0) -> VM {
        VM(id: id, cores: cores, gib: gib, dirtyMBps: dirtyMBps)
    }

    static func host(
        _ id: String,
        cores: Double = 16,
        gib: Double = 64,
        state: HostState = .active,
        _ vms: [VM] = []
    ) -> Host {
        Host(id: id, cores: cores, gib: gib, state: state, vms: vms)
    }

    static func snapshot(_ hosts: [Host], busy: Set<String> = []) -> ClusterSnapshot {
        var vmSnapshots: [VMSnapshot] = []
        let hostSnapshots = hosts.map { host in
            var use = ResourceVector.zero
            for vm in host.vms {
                let demand = Fixtures.vector(cores: vm.cores, gib: vm.gib)
                use += demand
                vmSnapshots.append(
                    VMSnapshot(
                        id: vm.id,
                        hostID: host.id,
                        requested: demand,
                        memoryDirtyRateBytesPerSecond: vm.dirtyMBps * megabyte
                    )
                )
            }
            return HostSnapshot(
                id: host.id,
                capacity: Fixtures.vector(cores: host.cores, gib: host.gib, rxGbit: 10, txGbit: 10),
                state: host.state,
                estimatedUse: use,
                vmIDs: host.vms.map(\.id)
            )
        }
        return ClusterSnapshot(hosts: hostSnapshots, vms: vmSnapshots, busyHostIDs: busy)
    }

    /// "vm:from→to" per move, the way the tables spell them.
    static func spelled(_ moves: [MigrationMove]) -> [String] {
        moves.map { "\($0.vmID):\($0.fromHostID)→\($0.toHostID)" }
    }

    /// Thresholds the tests build from literals known to be in order.
    static func thresholds(minimum: Double, mid: Double, maximum: Double) -> RelocationThresholds {
        do {
            return try RelocationThresholds(uniformMinimum: minimum, mid: mid, maximum: maximum)
        } catch {
            fatalError("test thresholds out of order: \(error)")
        }
    }
}
