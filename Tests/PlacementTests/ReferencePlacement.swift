import Placement

/// Straightforward O(VMs × hosts) versions of the policies, written from their definitions, to check the
/// indexed implementations against. They use no rounding tolerance, so inputs must avoid exact fits.
enum ReferencePlacement {
    struct Result: Equatable {
        var placements: [String]
        var unplaced: [String]
    }

    static func firstFit(_ vms: [VMRequest], on hosts: [HostSnapshot], norm: VectorNorm) -> Result {
        var free = hosts.map { $0.capacity - $0.estimatedUse }
        let order = tiers(hosts).flatMap { mostLoadedFirst($0, hosts: hosts, norm: norm) }
        var result = Result(placements: [], unplaced: [])
        for vm in vms {
            if let host = order.first(where: { vm.estimated.isComponentwiseLessThanOrEqual(to: free[$0]) }) {
                place(vm, on: host, hosts: hosts, free: &free, result: &result)
            } else {
                result.unplaced.append(vm.id)
            }
        }
        return result
    }

    static func roundRobin(_ vms: [VMRequest], on hosts: [HostSnapshot], startIndex: Int) -> (Result, Int) {
        var free = hosts.map { $0.capacity - $0.estimatedUse }
        var cursor = startIndex
        var result = Result(placements: [], unplaced: [])
        for vm in vms {
            let candidates = tiers(hosts).flatMap { tier in tier.filter { $0 >= cursor } + tier.filter { $0 < cursor } }
            if let host = candidates.first(where: { vm.estimated.isComponentwiseLessThanOrEqual(to: free[$0]) }) {
                place(vm, on: host, hosts: hosts, free: &free, result: &result)
                cursor = (host + 1) % hosts.count
            } else {
                result.unplaced.append(vm.id)
            }
        }
        return (result, cursor)
    }

    static func bestFitDecreasing(_ vms: [VMRequest], on hosts: [HostSnapshot], norm: VectorNorm) -> Result {
        var free = hosts.map { $0.capacity - $0.estimatedUse }
        let reference = hosts.filter { $0.state != .failed }.map(\.capacity).reduce(.zero, ResourceVector.maximum)
        let sizes = vms.map { norm.value(of: $0.estimated.normalised(to: reference)) }
        let order = vms.indices.sorted { sizes[$0] > sizes[$1] || (sizes[$0] == sizes[$1] && $0 < $1) }
        let hostTiers = tiers(hosts).map { mostLoadedFirst($0, hosts: hosts, norm: norm) }
        var result = Result(placements: [], unplaced: [])
        for vm in order.map({ vms[$0] }) {
            var chosen: Int?
            for tier in hostTiers where chosen == nil {
                var bestKey = Double.infinity
                for host in tier where vm.estimated.isComponentwiseLessThanOrEqual(to: free[host]) {
                    let key = norm.value(of: free[host].normalised(to: hosts[host].capacity))
                    if key < bestKey {
                        bestKey = key
                        chosen = host
                    }
                }
            }
            if let host = chosen {
                place(vm, on: host, hosts: hosts, free: &free, result: &result)
            } else {
                result.unplaced.append(vm.id)
            }
        }
        return result
    }

    /// Each VM, by decreasing cores, on the host whose power grows least (its whole power if it must be woken),
    /// trying active, then waking, then sleeping hosts; `dimensions` are the ones a host must have room in.
    static func powerAware(
        _ vms: [VMRequest],
        on hosts: [HostSnapshot],
        dimensions: Set<ResourceDimension>,
        defaultModel: HostPowerModel
    ) -> Result {
        var free = hosts.map { $0.capacity - $0.estimatedUse }
        var cpuInUse = hosts.map(\.estimatedUse.cpuCores)
        var woken = Set<Int>()
        let order = vms.indices.sorted {
            vms[$0].estimated.cpuCores > vms[$1].estimated.cpuCores
                || (vms[$0].estimated.cpuCores == vms[$1].estimated.cpuCores && $0 < $1)
        }
        var result = Result(placements: [], unplaced: [])
        for vm in order.map({ vms[$0] }) {
            var chosen: Int?
            for tier in tiers(hosts) where chosen == nil {
                var bestCost = Double.infinity
                for host in tier where dimensions.allSatisfy({ vm.estimated[$0] <= free[host][$0] }) {
                    let model = hosts[host].powerModel ?? defaultModel
                    let capacity = hosts[host].capacity.cpuCores
                    let before = model.watts(atUtilization: cpuInUse[host] / capacity)
                    let after = model.watts(atUtilization: (cpuInUse[host] + vm.estimated.cpuCores) / capacity)
                    let wakes = hosts[host].state == .sleeping && !woken.contains(host)
                    let cost = (wakes ? before : 0) + (after - before)
                    if cost < bestCost {
                        bestCost = cost
                        chosen = host
                    }
                }
            }
            if let host = chosen {
                place(vm, on: host, hosts: hosts, free: &free, result: &result)
                cpuInUse[host] += vm.estimated.cpuCores
                woken.insert(host)
            } else {
                result.unplaced.append(vm.id)
            }
        }
        return result
    }

    private static func place(
        _ vm: VMRequest,
        on host: Int,
        hosts: [HostSnapshot],
        free: inout [ResourceVector],
        result: inout Result
    ) {
        free[host] -= vm.estimated
        result.placements.append("\(vm.id)→\(hosts[host].id)\(hosts[host].state == .sleeping ? "!" : "")")
    }

    private static func tiers(_ hosts: [HostSnapshot]) -> [[Int]] {
        [HostState.active, .waking, .sleeping].map { state in hosts.indices.filter { hosts[$0].state == state } }
    }

    private static func mostLoadedFirst(_ tier: [Int], hosts: [HostSnapshot], norm: VectorNorm) -> [Int] {
        let load = { (host: Int) in norm.value(of: hosts[host].estimatedUse.normalised(to: hosts[host].capacity)) }
        return tier.sorted { load($0) > load($1) || (load($0) == load($1) && $0 < $1) }
    }
}
