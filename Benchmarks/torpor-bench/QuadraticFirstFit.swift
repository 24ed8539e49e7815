import Placement

/// FirstFit as it was before the index learnt from its searches (commit 194ae8b): the same segment tree of
/// componentwise maximum free capacity, walked again for every VM however often a subtree had turned out to hold
/// nothing, which made plans grow close to quadratically. Kept here only as the benchmark's alternative; it places
/// exactly as `FirstFit` does (the benchmark checks) but reports no reasons.
struct QuadraticFirstFit {
    struct Plan {
        /// Snapshot index of the host each placed VM went to, in VM order; nil where the VM was not placed.
        var hostIndices: [Int?]
    }

    func place(_ vms: [VMRequest], on snapshot: ClusterSnapshot) -> Plan {
        let hosts = snapshot.hosts
        // Tiers (active, waking, sleeping), each most loaded first by L1 of the normalised use, ties in order.
        let loads = hosts.map { host in
            VectorNorm.l1.value(of: host.estimatedUse.normalised(to: host.capacity))
        }
        var order: [Int] = []
        var tiers: [Range<Int>] = []
        for state in [HostState.active, .waking, .sleeping] {
            let tier = hosts.indices.filter { hosts[$0].state == state }
                .sorted { loads[$0] > loads[$1] || (loads[$0] == loads[$1] && $0 < $1) }
            tiers.append(order.count..<(order.count + tier.count))
            order += tier
        }
        var tree = Tree(
            free: order.map { index in
                let allowed = Self.vector(hosts[index].capacity)
                let tolerance = allowed.replacing(with: 0, where: allowed .< 0) * 1e-9
                return allowed - Self.vector(hosts[index].estimatedUse) + tolerance
            }
        )
        var plan = Plan(hostIndices: [])
        plan.hostIndices.reserveCapacity(vms.count)
        for vm in vms {
            let demand = Self.vector(vm.estimated)
            guard all(demand .>= 0) else {
                plan.hostIndices.append(nil)
                continue
            }
            var placed: Int?
            for tier in tiers where placed == nil {
                if let position = tree.firstFit(demand, in: tier) {
                    tree.take(demand, at: position)
                    placed = order[position]
                }
            }
            plan.hostIndices.append(placed)
        }
        return plan
    }

    private static func vector(_ resources: ResourceVector) -> SIMD4<Double> {
        SIMD4(
            resources.cpuCores,
            resources.memoryBytes,
            resources.networkRxBytesPerSecond,
            resources.networkTxBytesPerSecond
        )
    }

    /// The old segment tree: componentwise maximum free capacity per node, nothing else.
    private struct Tree {
        let leafBase: Int
        var maxFree: [SIMD4<Double>]

        init(free: [SIMD4<Double>]) {
            var base = 1
            while base < free.count {
                base *= 2
            }
            leafBase = base
            maxFree = Array(repeating: SIMD4(repeating: -.infinity), count: 2 * base)
            for (position, value) in free.enumerated() {
                maxFree[base + position] = value
            }
            var node = base - 1
            while node >= 1 {
                pull(node)
                node -= 1
            }
        }

        mutating func take(_ demand: SIMD4<Double>, at position: Int) {
            var node = leafBase + position
            maxFree[node] -= demand
            node /= 2
            while node >= 1 {
                pull(node)
                node /= 2
            }
        }

        func firstFit(_ demand: SIMD4<Double>, in range: Range<Int>) -> Int? {
            guard !range.isEmpty else { return nil }
            return maxFree.withUnsafeBufferPointer { maxFree in
                Self.firstFit(demand, in: range, node: 1, nodeRange: 0..<leafBase, maxFree: maxFree)
            }
        }

        private mutating func pull(_ node: Int) {
            let left = maxFree[2 * node]
            let right = maxFree[2 * node + 1]
            maxFree[node] = left.replacing(with: right, where: left .< right)
        }

        private static func firstFit(
            _ demand: SIMD4<Double>,
            in range: Range<Int>,
            node: Int,
            nodeRange: Range<Int>,
            maxFree: UnsafeBufferPointer<SIMD4<Double>>
        ) -> Int? {
            guard range.overlaps(nodeRange), all(demand .<= maxFree[node]) else { return nil }
            if nodeRange.count == 1 {
                return nodeRange.lowerBound
            }
            let middle = nodeRange.lowerBound + nodeRange.count / 2
            let left = nodeRange.lowerBound..<middle
            let right = middle..<nodeRange.upperBound
            return firstFit(demand, in: range, node: 2 * node, nodeRange: left, maxFree: maxFree)
                ?? firstFit(demand, in: range, node: 2 * node + 1, nodeRange: right, maxFree: maxFree)
        }
    }
}
