/// A segment tree over hosts in a policy's preference order. Each node keeps the componentwise maximum free
/// capacity and the smallest remaining-capacity key of the hosts below it, so first-fit and best-fit searches skip
/// whole subtrees that cannot hold a demand instead of testing every host for every VM.
struct FreeCapacityIndex {
    /// Number of hosts (leaves in use).
    let count: Int
    /// Index of the first leaf; a power of two, node `i` has children `2i` and `2i + 1`.
    private let leafBase: Int
    private var maxFree: [SIMD4<Double>]
    private var minKey: [Double]
    private let capacity: [SIMD4<Double>]
    private let norm: VectorNorm

    /// `free[p]` and `capacity[p]` describe the host at position `p`; `norm` ranks remaining capacity for best fit.
    init(free: [SIMD4<Double>], capacity: [SIMD4<Double>], norm: VectorNorm) {
        precondition(free.count == capacity.count, "one capacity per host")
        count = free.count
        var base = 1
        while base < count {
            base *= 2
        }
        leafBase = base
        self.capacity = capacity
        self.norm = norm
        // Padding leaves can hold nothing and never win a best fit.
        maxFree = Array(repeating: SIMD4(repeating: -.infinity), count: 2 * base)
        minKey = Array(repeating: .infinity, count: 2 * base)
        for position in 0..<count {
            maxFree[base + position] = free[position]
            minKey[base + position] = Self.key(free: free[position], capacity: capacity[position], norm: norm)
        }
        var node = base - 1
        while node >= 1 {
            pull(node)
            node -= 1
        }
    }

    func free(at position: Int) -> SIMD4<Double> {
        maxFree[leafBase + position]
    }

    /// Calls `body` with the free capacity of every host, by position.
    func withFreeCapacities<Result>(_ body: (UnsafeBufferPointer<SIMD4<Double>>) -> Result) -> Result {
        maxFree.withUnsafeBufferPointer { nodes in
            body(UnsafeBufferPointer(rebasing: nodes[leafBase..<(leafBase + count)]))
        }
    }

    /// Componentwise maximum free capacity over all hosts.
    var maximumFree: SIMD4<Double> {
        maxFree[1]
    }

    /// Removes `demand` from the host at `position`.
    mutating func take(_ demand: SIMD4<Double>, at position: Int) {
        var node = leafBase + position
        let free = maxFree[node] - demand
        maxFree[node] = free
        minKey[node] = Self.key(free: free, capacity: capacity[position], norm: norm)
        node /= 2
        while node >= 1 {
            pull(node)
            node /= 2
        }
    }

    /// The first position in `range` whose host can hold `demand`.
    func firstFit(_ demand: SIMD4<Double>, in range: Range<Int>) -> Int? {
        guard !range.isEmpty else { return nil }
        return maxFree.withUnsafeBufferPointer { maxFree in
            Self.firstFit(demand, in: range, node: 1, nodeRange: 0..<leafBase, maxFree: maxFree)
        }
    }

    /// The position in `range` whose host can hold `demand` with the least remaining capacity (smallest key),
    /// the lowest position among equals.
    func bestFit(_ demand: SIMD4<Double>, in range: Range<Int>) -> Int? {
        guard !range.isEmpty else { return nil }
        var best = BestCandidate()
        maxFree.withUnsafeBufferPointer { maxFree in
            minKey.withUnsafeBufferPointer { minKey in
                Self.bestFit(
                    demand,
                    in: range,
                    node: 1,
                    nodeRange: 0..<leafBase,
                    maxFree: maxFree,
                    minKey: minKey,
                    best: &best
                )
            }
        }
        return best.position
    }

    /// The first position holding the most free capacity in `dimension` (0 = cpu … 3 = network tx).
    func positionOfMaximumFree(in dimension: Int) -> Int? {
        guard count > 0 else { return nil }
        var node = 1
        while node < leafBase {
            let left = 2 * node
            node = maxFree[left][dimension] >= maxFree[left + 1][dimension] ? left : left + 1
        }
        return node - leafBase
    }

    /// Normalised remaining capacity; an over-committed dimension counts as nothing left, not as a large negative.
    private static func key(free: SIMD4<Double>, capacity: SIMD4<Double>, norm: VectorNorm) -> Double {
        let remaining = free.replacing(with: 0, where: free .< 0)
        var fractions = ResourceVector.divide(remaining, by: capacity)
        // A dimension the host has none of says nothing about how full it is.
        fractions.replace(with: 0, where: capacity .<= 0)
        return norm.value(of: fractions)
    }

    private mutating func pull(_ node: Int) {
        let left = maxFree[2 * node]
        let right = maxFree[2 * node + 1]
        maxFree[node] = left.replacing(with: right, where: left .< right)
        minKey[node] = Swift.min(minKey[2 * node], minKey[2 * node + 1])
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
        if let found = firstFit(
            demand,
            in: range,
            node: 2 * node,
            nodeRange: nodeRange.lowerBound..<middle,
            maxFree: maxFree
        ) {
            return found
        }
        return firstFit(
            demand,
            in: range,
            node: 2 * node + 1,
            nodeRange: middle..<nodeRange.upperBound,
            maxFree: maxFree
        )
    }

    private struct BestCandidate {
        var key = Double.infinity
        var position: Int?

        /// Whether a subtree whose keys are at least `key` and whose first position is `first` may hold a better
        /// candidate: a smaller key, or an equal one further left.
        func canBeBeaten(by key: Double, from first: Int) -> Bool {
            guard let position else { return true }
            return key < self.key || (key == self.key && first < position)
        }
    }

    private static func bestFit(
        _ demand: SIMD4<Double>,
        in range: Range<Int>,
        node: Int,
        nodeRange: Range<Int>,
        maxFree: UnsafeBufferPointer<SIMD4<Double>>,
        minKey: UnsafeBufferPointer<Double>,
        best: inout BestCandidate
    ) {
        // A subtree's minimum key bounds every host in it, so one that cannot beat the best so far is skipped.
        guard range.overlaps(nodeRange), best.canBeBeaten(by: minKey[node], from: nodeRange.lowerBound),
            all(demand .<= maxFree[node])
        else { return }
        if nodeRange.count == 1 {
            best = BestCandidate(key: minKey[node], position: nodeRange.lowerBound)
            return
        }
        let middle = nodeRange.lowerBound + nodeRange.count / 2
        let left = (node: 2 * node, range: nodeRange.lowerBound..<middle)
        let right = (node: 2 * node + 1, range: middle..<nodeRange.upperBound)
        // Visiting the more promising child first tightens the bound sooner.
        let (first, second) = minKey[right.node] < minKey[left.node] ? (right, left) : (left, right)
        bestFit(
            demand,
            in: range,
            node: first.node,
            nodeRange: first.range,
            maxFree: maxFree,
            minKey: minKey,
            best: &best
        )
        bestFit(
            demand,
            in: range,
            node: second.node,
            nodeRange: second.range,
            maxFree: maxFree,
            minKey: minKey,
            best: &best
        )
    }
}
