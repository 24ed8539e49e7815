import Placement

/// Seeded random clusters for property checks of relocation and consolidation: mixed hosts in every state, some
/// busy, VMs spread over the active ones with skewed sizes and dirty rates.
enum RandomCluster {
    static func make(hosts hostCount: Int, vms vmCount: Int, random: inout SeededRandom) -> ClusterSnapshot {
        let states: [HostState] = [.active, .active, .active, .active, .active, .active, .sleeping, .waking, .failed]
        var hosts = (0..<hostCount).map { index in
            let cores = [8.0, 16, 32][random.below(3)]
            return HostSnapshot(
                id: "h\(index)",
                capacity: Fixtures.vector(cores: cores, gib: cores * 4, rxGbit: 10, txGbit: 10),
                state: states[random.below(states.count)]
            )
        }
        let active = hosts.indices.filter { hosts[$0].state == .active }
        var vms: [VMSnapshot] = []
        for index in 0..<vmCount where !active.isEmpty {
            let hostIndex = active[random.below(active.count)]
            let requested = Fixtures.vector(cores: [1.0, 2, 4][random.below(3)], gib: [1.0, 2, 4, 8][random.below(4)])
            // Most VMs use a fraction of their request; a few use all of it.
            let share = random.below(10) < 8 ? 0.1 + 0.5 * random.unit() : 1
            let estimated = ResourceVector(
                cpuCores: requested.cpuCores * share,
                memoryBytes: requested.memoryBytes * (0.5 + 0.5 * random.unit())
            )
            let limit = hosts[hostIndex].capacity
            guard (hosts[hostIndex].estimatedUse + estimated).isComponentwiseLessThanOrEqual(to: limit) else {
                continue
            }
            hosts[hostIndex].estimatedUse += estimated
            hosts[hostIndex].vmIDs.append("vm\(index)")
            vms.append(
                VMSnapshot(
                    id: "vm\(index)",
                    hostID: hosts[hostIndex].id,
                    requested: requested,
                    estimated: estimated,
                    memoryDirtyRateBytesPerSecond: random.below(20) == 0 ? 2e8 : 1e7 * random.unit()
                )
            )
        }
        let busy = Set(hosts.indices.filter { _ in random.below(10) == 0 }.map { hosts[$0].id })
        return ClusterSnapshot(hosts: hosts, vms: vms, busyHostIDs: busy)
    }
}
