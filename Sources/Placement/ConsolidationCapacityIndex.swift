/// A segment tree over candidate destination hosts (positions fixed at construction) that keeps, per node, the
/// componentwise maximum free capacity and the smallest remaining-capacity key below it, so that first-fit and
/// best-fit find a host in O(log n) typical time. Hosts can be switched on and off as destinations.
struct ConsolidationCapacityIndex {
    let count: Int
    private let leafBase: Int
    private var maxFree: [SIMD4<Double>]
    private var minKey: [Double]
    /// Capacity per position, for the best-fit key.
    private let capacity: [SIMD4<Double>]

    /// Every position starts switched off.
    init(capacity: [SIMD4<Double>]) {
        count = capacity.count
        var base = 1
        while base < count {
            base *= 2
        }
        leafBase = base
        self.capacity = capacity
        maxFree = Array(repeating: SIMD4(repeating: -.infinity), count: 2 * base)
        minKey = Array(repeating: .infinity, count: 2 * base)
    }

    func free(at position: Int) -> SIMD4<Double> {
        maxFree[leafBase + position]
    }

    func isOn(_ position: Int) -> Bool {
        minKey[leafBase + position] < .infinity
    }

    /// Makes the host at `position` a destination with `free` capacity.
    mutating func setFree(_ free: SIMD4<Double>, at position: Int) {
        let leaf = leafBase + position
        maxFree[leaf] = free
        let remaining = free.replacing(with: 0, where: free .< 0)
        var fractions = ResourceVector.divide(remaining, by: capacity[position])
        fractions.replace(with: 0, where: capacity[position] .<= 0)
        minKey[leaf] = fractions.sum()
        update(from: leaf)
    }

    /// Stops the host at `position` being a destination.
    mutating func switchOff(_ position: Int) {
        let leaf = leafBase + position
        maxFree[leaf] = SIMD4(repeating: -.infinity)
        minKey[leaf] = .infinity
        update(from: leaf)
    }

    /// Charges `demand` to a switched-on host (a negative demand gives capacity back).
    mutating func take(_ demand: SIMD4<Double>, at position: Int) {
        setFree(maxFree[leafBase + position] - demand, at: position)
    }

    /// The lowest switched-on position below `end` that can hold `demand`.
    func firstFit(_ demand: SIMD4<Double>, below end: Int) -> Int? {
        guard end > 0 else { return nil }
        var node = 1
        var low = 0
        var width = leafBase
        // Walks down, backing up to the nearest unexplored right sibling when a subtree cannot hold the demand.
        var stack: [(node: Int, low: Int, width: Int)] = []
        while true {
            if low < end, all(demand .<= maxFree[node]) {
                if width == 1 {
                    return low
                }
                let half = width / 2
                stack.append((2 * node + 1, low + half, half))
                node = 2 * node
                width = half
                continue
            }
            guard let next = stack.popLast() else { return nil }
            (node, low, width) = next
        }
    }

    /// The switched-on position that can hold `demand` with the least remaining capacity, the lowest among equals.
    func bestFit(_ demand: SIMD4<Double>) -> Int? {
        var bestKey = Double.infinity
        var bestPosition: Int?
        var stack: [(node: Int, low: Int, width: Int)] = [(1, 0, leafBase)]
        while let (node, low, width) = stack.popLast() {
            let key = minKey[node]
            guard key < bestKey || (key == bestKey && bestPosition.map { low < $0 } ?? true), key < .infinity,
                all(demand .<= maxFree[node])
            else { continue }
            if width == 1 {
                bestKey = key
                bestPosition = low
                continue
            }
            let half = width / 2
            let left = (2 * node, low, half)
            let right = (2 * node + 1, low + half, half)
            // The more promising child is searched first (pushed last), which tightens the bound sooner.
            if minKey[right.0] < minKey[left.0] {
                stack.append(left)
                stack.append(right)
            } else {
                stack.append(right)
                stack.append(left)
            }
        }
        return bestPosition
    }

    private mutating func update(from leaf: Int) {
        var node = leaf / 2
        while node >= 1 {
            let left = maxFree[2 * node]
            let right = maxFree[2 * node + 1]
            maxFree[node] = left.replacing(with: right, where: left .< right)
            minKey[node] = Swift.min(minKey[2 * node], minKey[2 * node + 1])
            node /= 2
        }
    }
}
