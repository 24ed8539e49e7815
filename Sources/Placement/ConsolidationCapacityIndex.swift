/// A segment tree over candidate destination hosts (positions fixed at construction) for first-fit searches.
/// Each node keeps the componentwise maximum free capacity below it, and the largest free CPU + memory (as
/// fractions of a reference host) of any single host below it: a host that fits a demand passes both, and the
/// second prunes the subtrees where the first passes only by combining one host's free CPU with another's free
/// memory. Hosts are switched on as destinations one by one.
struct ConsolidationCapacityIndex {
    let count: Int
    private let leafBase: Int
    private var maxFree: [SIMD4<Double>]
    private var maxWeightedFree: [Double]
    /// Per-dimension weights of the combined check: 1 / reference capacity for CPU and memory, 0 for the network.
    private let weights: SIMD4<Double>

    /// Every position starts switched off; `reference` is the scale of the combined CPU + memory check.
    init(count: Int, reference: SIMD4<Double>) {
        self.count = count
        var base = 1
        while base < count {
            base *= 2
        }
        leafBase = base
        var weights = SIMD4<Double>(1, 1, 0, 0) / reference
        weights.replace(with: 0, where: .!(weights .< SIMD4(repeating: .infinity)))
        self.weights = weights
        maxFree = Array(repeating: SIMD4(repeating: -.infinity), count: 2 * base)
        maxWeightedFree = Array(repeating: -.infinity, count: 2 * base)
    }

    func free(at position: Int) -> SIMD4<Double> {
        maxFree[leafBase + position]
    }

    /// Makes the host at `position` a destination with `free` capacity.
    mutating func setFree(_ free: SIMD4<Double>, at position: Int) {
        set(free, weighted: (free * weights).sum(), atLeaf: leafBase + position)
    }

    /// Charges `demand` to a switched-on host.
    mutating func take(_ demand: SIMD4<Double>, at position: Int) {
        setFree(maxFree[leafBase + position] - demand, at: position)
    }

    /// The lowest switched-on position below `end` that can hold `demand`.
    func firstFit(_ demand: SIMD4<Double>, below end: Int) -> Int? {
        guard end > 0 else { return nil }
        let weighted = (demand * weights).sum()
        let leafBase = leafBase
        return maxFree.withUnsafeBufferPointer { maxFree in
            maxWeightedFree.withUnsafeBufferPointer { maxWeightedFree in
                // Depth-first, left to right, without a stack: on a dead end, move to the next subtree on the right
                // (climbing while the node is a right child). `width` is the number of leaves under `node`, and its
                // first leaf is `node * width - leafBase`.
                var node = 1
                var width = leafBase
                while true {
                    let low = node * width - leafBase
                    // Everything from here on lies at or beyond `end`.
                    if low >= end {
                        return nil
                    }
                    if maxWeightedFree[node] >= weighted, all(demand .<= maxFree[node]) {
                        if width == 1 {
                            return low
                        }
                        node *= 2
                        width /= 2
                        continue
                    }
                    while node & 1 == 1 {
                        node /= 2
                        width *= 2
                    }
                    if node == 0 {
                        return nil
                    }
                    node += 1
                }
            }
        }
    }

    private mutating func set(_ free: SIMD4<Double>, weighted: Double, atLeaf leaf: Int) {
        maxFree.withUnsafeMutableBufferPointer { maxFree in
            maxWeightedFree.withUnsafeMutableBufferPointer { maxWeightedFree in
                maxFree[leaf] = free
                maxWeightedFree[leaf] = weighted
                var node = leaf / 2
                while node >= 1 {
                    let left = maxFree[2 * node]
                    let right = maxFree[2 * node + 1]
                    maxFree[node] = left.replacing(with: right, where: left .< right)
                    maxWeightedFree[node] = Swift.max(maxWeightedFree[2 * node], maxWeightedFree[2 * node + 1])
                    node /= 2
                }
            }
        }
    }
}
