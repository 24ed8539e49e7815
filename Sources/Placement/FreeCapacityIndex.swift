/// A segment tree over hosts in a policy's preference order. Each node keeps the componentwise maximum free
/// capacity and the smallest remaining-capacity key of the hosts below it, so first-fit and best-fit searches skip
/// whole subtrees that cannot hold a demand instead of testing every host for every VM.
///
/// A componentwise maximum is only an upper bound in more than one dimension: one host with free cores and another
/// with free memory make a subtree look able to hold a VM that fits neither, and one nearly full host makes a
/// subtree's smallest key look better than any host in it that can take the VM. Searches that walked such subtrees
/// again for every VM made plans grow quadratically with the cluster. So each internal node also remembers what
/// searches learnt there (`Lesson`), and later searches stop at the node while the lesson holds.
struct FreeCapacityIndex {
    /// What a search proved about the hosts below a node: each of them lacks `certificate` in some dimension, or
    /// has a remaining-capacity key of at least `keyBound`. So every host there that can hold a demand at least
    /// `certificate` in each dimension has a key of at least `keyBound`; with an infinite `keyBound`, no host there
    /// holds such a demand.
    ///
    /// Taking capacity only removes hosts from "can hold", so a lesson with an infinite bound stays true until
    /// capacity is given back; a finite bound stops holding when a host below takes capacity and its key drops.
    struct Lesson {
        var certificate: SIMD4<Double>
        var keyBound: Double

        /// A free slot: no demand is this large.
        static let unused = Lesson(certificate: SIMD4(repeating: .infinity), keyBound: .infinity)

        var provesNoFit: Bool { keyBound == .infinity }

        func applies(to demand: SIMD4<Double>) -> Bool {
            all(certificate .<= demand)
        }

        /// True when this lesson says at least as much as `other` for every demand.
        func subsumes(_ other: Lesson) -> Bool {
            keyBound >= other.keyBound && all(certificate .<= other.certificate)
        }
    }

    /// How many lessons a node keeps: enough for the few demand shapes that alternate in a plan, few enough that
    /// checking them costs less than the walk they save.
    static let lessonSlots = 4

    /// Number of hosts (leaves in use).
    let count: Int
    /// Index of the first leaf; a power of two, node `i` has children `2i` and `2i + 1`.
    private let leafBase: Int
    private var maxFree: [SIMD4<Double>]
    private var minKey: [Double]
    /// `lessonSlots` per internal node, newest first.
    private var lessons: [Lesson]
    /// For ranges searched whole, the certificate of the latest search that found nothing there.
    private var rangeFailures: [Range<Int>: SIMD4<Double>] = [:]
    private static let rangeFailureLimit = 16
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
        lessons = Array(repeating: .unused, count: base * Self.lessonSlots)
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

    /// Removes `demand` (not negative) from the host at `position`.
    mutating func take(_ demand: SIMD4<Double>, at position: Int) {
        forgetLessons(above: position) { !$0.provesNoFit }
        setFree(maxFree[leafBase + position] - demand, at: position)
    }

    /// Ranks the host at `position` last in best fit: a policy that knows no VM it has left to place fits there
    /// says so, and then the nearly full host stops making its subtrees look better than the hosts in them that
    /// fit. The host keeps its free capacity (first fit and explanations still see it); bounds only rise, so
    /// lessons stay true.
    mutating func retire(at position: Int) {
        var node = leafBase + position
        minKey[node] = .infinity
        node /= 2
        while node >= 1 {
            pull(node)
            node /= 2
        }
    }

    /// Gives `amount` (not negative) back to the host at `position`: demands that failed above it may fit now.
    mutating func release(_ amount: SIMD4<Double>, at position: Int) {
        forgetLessons(above: position) { _ in true }
        rangeFailures.removeAll()
        setFree(maxFree[leafBase + position] + amount, at: position)
    }

    /// The first position in `range` whose host can hold `demand`.
    mutating func firstFit(_ demand: SIMD4<Double>, in range: Range<Int>) -> Int? {
        guard !range.isEmpty, !isKnownToFail(demand, in: range) else { return nil }
        var search = Search(demand: demand, range: range)
        let lesson = maxFree.withUnsafeBufferPointer { maxFree in
            minKey.withUnsafeBufferPointer { minKey in
                lessons.withUnsafeMutableBufferPointer { lessons in
                    let tree = Tree(maxFree: maxFree, minKey: minKey, lessons: lessons)
                    return search.firstFit(node: 1, nodeRange: 0..<leafBase, tree: tree)
                }
            }
        }
        return found(search.found, lesson: lesson, in: range)
    }

    /// The position in `range` whose host can hold `demand` with the least remaining capacity (smallest key),
    /// the lowest position among equals.
    mutating func bestFit(_ demand: SIMD4<Double>, in range: Range<Int>) -> Int? {
        cheapestFit(demand, in: range, ranking: RemainingCapacityRanking())
    }

    /// The position in `range` whose host can hold `demand` at the least cost under `ranking`, the lowest
    /// position among equals. One index serves one ranking: the bounds it learns are in that ranking's costs.
    mutating func cheapestFit<Ranking: HostRanking>(
        _ demand: SIMD4<Double>,
        in range: Range<Int>,
        ranking: Ranking
    ) -> Int? {
        guard !range.isEmpty, !isKnownToFail(demand, in: range) else { return nil }
        var search = Search(demand: demand, range: range)
        let lesson = maxFree.withUnsafeBufferPointer { maxFree in
            minKey.withUnsafeBufferPointer { minKey in
                lessons.withUnsafeMutableBufferPointer { lessons in
                    let tree = Tree(maxFree: maxFree, minKey: minKey, lessons: lessons)
                    return search.cheapestFit(node: 1, nodeRange: 0..<leafBase, tree: tree, ranking: ranking)
                }
            }
        }
        return found(search.found, lesson: lesson, in: range)
    }

    /// Whether a search of `range` (a tier, usually) already showed that no host there holds demands like this.
    private func isKnownToFail(_ demand: SIMD4<Double>, in range: Range<Int>) -> Bool {
        guard let certificate = rangeFailures[range] else { return false }
        return all(certificate .<= demand)
    }

    /// Passes on what a search found; when it found nothing, remembers for the range the certificate of that.
    private mutating func found(_ position: Int?, lesson: Lesson, in range: Range<Int>) -> Int? {
        if position == nil, lesson.provesNoFit {
            // Round robin searches ranges that start at its cursor; a few tiers is all that is worth keeping.
            if rangeFailures.count >= Self.rangeFailureLimit && rangeFailures[range] == nil {
                rangeFailures.removeAll(keepingCapacity: true)
            }
            rangeFailures[range] = lesson.certificate
        }
        return position
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

    private mutating func setFree(_ free: SIMD4<Double>, at position: Int) {
        var node = leafBase + position
        maxFree[node] = free
        minKey[node] = Self.key(free: free, capacity: capacity[position], norm: norm)
        node /= 2
        while node >= 1 {
            pull(node)
            node /= 2
        }
    }

    private mutating func pull(_ node: Int) {
        let left = maxFree[2 * node]
        let right = maxFree[2 * node + 1]
        maxFree[node] = left.replacing(with: right, where: left .< right)
        minKey[node] = Swift.min(minKey[2 * node], minKey[2 * node + 1])
    }

    /// Drops the lessons matching `isStale` from every node above the host at `position`.
    private mutating func forgetLessons(above position: Int, where isStale: (Lesson) -> Bool) {
        var node = (leafBase + position) / 2
        while node >= 1 {
            let first = node * Self.lessonSlots
            for slot in first..<(first + Self.lessonSlots) where isStale(lessons[slot]) {
                lessons[slot] = .unused
            }
            node /= 2
        }
    }

    /// The tree's arrays for the length of one search.
    private struct Tree {
        let maxFree: UnsafeBufferPointer<SIMD4<Double>>
        let minKey: UnsafeBufferPointer<Double>
        let lessons: UnsafeMutableBufferPointer<Lesson>

        /// The strongest lesson the (internal) node holds for `demand`, if its bound exceeds `bound`'s; else
        /// `bound`.
        func strongest(at node: Int, for demand: SIMD4<Double>, over bound: Lesson) -> Lesson {
            var strongest = bound
            let first = node * FreeCapacityIndex.lessonSlots
            for slot in first..<(first + FreeCapacityIndex.lessonSlots) {
                let lesson = lessons[slot]
                if lesson.keyBound > strongest.keyBound && lesson.applies(to: demand) {
                    strongest = lesson
                }
            }
            return strongest
        }

        /// A lesson of the (internal) node proving that no host below holds `demand`.
        func noFit(at node: Int, for demand: SIMD4<Double>) -> Lesson? {
            let first = node * FreeCapacityIndex.lessonSlots
            for slot in first..<(first + FreeCapacityIndex.lessonSlots) {
                let lesson = lessons[slot]
                if lesson.provesNoFit && lesson.applies(to: demand) {
                    return lesson
                }
            }
            return nil
        }

        /// Keeps `lesson` at the (internal) node: newest first, dropping those it subsumes and, when every slot is
        /// taken, the oldest.
        func learn(_ lesson: Lesson, at node: Int) {
            let first = node * FreeCapacityIndex.lessonSlots
            let end = first + FreeCapacityIndex.lessonSlots
            var kept = first
            for slot in first..<end where !lesson.subsumes(lessons[slot]) {
                lessons[kept] = lessons[slot]
                kept += 1
            }
            var slot = Swift.min(kept, end - 1)
            for unused in (slot + 1)..<end {
                lessons[unused] = .unused
            }
            while slot > first {
                lessons[slot] = lessons[slot - 1]
                slot -= 1
            }
            lessons[first] = lesson
        }
    }

    /// One search for one demand over the positions in `range`. Each step takes a node with the positions it
    /// covers and returns a lesson about the node's hosts in the range.
    private struct Search {
        let demand: SIMD4<Double>
        let range: Range<Int>
        /// First fit: the position found. Best fit: the best position so far.
        private(set) var found: Int?
        private var foundKey = Double.infinity

        init(demand: SIMD4<Double>, range: Range<Int>) {
            self.demand = demand
            self.range = range
        }

        mutating func firstFit(node: Int, nodeRange: Range<Int>, tree: Tree) -> Lesson {
            if let pruned = prune(node: node, nodeRange: nodeRange, tree: tree) {
                return pruned
            }
            if nodeRange.count == 1 {
                found = nodeRange.lowerBound
                return Lesson(certificate: .zero, keyBound: tree.minKey[node])
            }
            if let lesson = tree.noFit(at: node, for: demand) {
                return lesson
            }
            let middle = nodeRange.lowerBound + nodeRange.count / 2
            let left = firstFit(node: 2 * node, nodeRange: nodeRange.lowerBound..<middle, tree: tree)
            guard found == nil else { return left }
            let right = firstFit(node: 2 * node + 1, nodeRange: middle..<nodeRange.upperBound, tree: tree)
            guard found == nil else { return right }
            return learn(
                Self.combine(left, right),
                at: node,
                nodeRange: nodeRange,
                tree: tree,
                ranking: RemainingCapacityRanking?.none
            )
        }

        mutating func cheapestFit<Ranking: HostRanking>(
            node: Int,
            nodeRange: Range<Int>,
            tree: Tree,
            ranking: Ranking
        ) -> Lesson {
            if let pruned = prune(node: node, nodeRange: nodeRange, tree: tree) {
                return pruned
            }
            let isLeaf = nodeRange.count == 1
            var bound = Lesson(
                certificate: ranking.costDemand,
                keyBound: isLeaf
                    ? ranking.cost(node: node, position: nodeRange.lowerBound, keys: tree.minKey)
                    : ranking.lowerBound(node: node, keys: tree.minKey)
            )
            if !isLeaf {
                bound = tree.strongest(at: node, for: demand, over: bound)
            }
            // A subtree whose bound cannot beat the best so far is skipped.
            guard !bound.provesNoFit, canBeBeaten(by: bound.keyBound, from: nodeRange.lowerBound) else {
                return bound
            }
            if isLeaf {
                found = nodeRange.lowerBound
                foundKey = bound.keyBound
                return bound
            }
            let middle = nodeRange.lowerBound + nodeRange.count / 2
            let left = (node: 2 * node, range: nodeRange.lowerBound..<middle)
            let right = (node: 2 * node + 1, range: middle..<nodeRange.upperBound)
            // Visiting the more promising child first tightens the bound sooner.
            let (first, second) =
                ranking.lowerBound(node: right.node, keys: tree.minKey)
                    < ranking.lowerBound(node: left.node, keys: tree.minKey)
                ? (right, left) : (left, right)
            let firstLesson = cheapestFit(node: first.node, nodeRange: first.range, tree: tree, ranking: ranking)
            let secondLesson = cheapestFit(node: second.node, nodeRange: second.range, tree: tree, ranking: ranking)
            return learn(
                Self.combine(firstLesson, secondLesson),
                at: node,
                nodeRange: nodeRange,
                tree: tree,
                ranking: ranking
            )
        }

        /// Whether hosts whose keys are at least `key`, from position `first` on, may hold a better candidate than
        /// the best so far: a smaller key, or an equal one further left.
        private func canBeBeaten(by key: Double, from first: Int) -> Bool {
            guard let found else { return true }
            return key < foundKey || (key == foundKey && first < found)
        }

        /// A lesson that ends the step: the node is outside the range or no host below has enough of some
        /// dimension. Nil when the node must be looked into.
        private func prune(node: Int, nodeRange: Range<Int>, tree: Tree) -> Lesson? {
            // A lesson is about the node's hosts in the range: outside it there are none, so every lesson holds.
            // Nothing is kept there, since no node containing this one lies wholly in the range.
            guard range.overlaps(nodeRange) else { return Lesson(certificate: .zero, keyBound: .infinity) }
            let short = demand .> tree.maxFree[node]
            guard any(short) else { return nil }
            // One short dimension is reason enough for every host below; naming just one keeps the certificate
            // small, so the lesson covers more demands.
            var certificate = SIMD4<Double>.zero
            for dimension in 0..<4 where short[dimension] {
                certificate[dimension] = demand[dimension]
                break
            }
            return Lesson(certificate: certificate, keyBound: .infinity)
        }

        /// Keeps what the search learnt about an (internal) node it covered entirely.
        private func learn<Ranking: HostRanking>(
            _ lesson: Lesson,
            at node: Int,
            nodeRange: Range<Int>,
            tree: Tree,
            ranking: Ranking?
        ) -> Lesson {
            let covered = range.lowerBound <= nodeRange.lowerBound && nodeRange.upperBound <= range.upperBound
            // A bound no better than the ranking's own says nothing new.
            if covered && lesson.keyBound > ranking?.lowerBound(node: node, keys: tree.minKey) ?? -.infinity {
                tree.learn(lesson, at: node)
            }
            return lesson
        }

        /// What holds for two sibling subtrees holds for their parent with the larger certificate and the smaller
        /// bound.
        private static func combine(_ a: Lesson, _ b: Lesson) -> Lesson {
            Lesson(
                certificate: a.certificate.replacing(with: b.certificate, where: a.certificate .< b.certificate),
                keyBound: Swift.min(a.keyBound, b.keyBound)
            )
        }
    }
}

/// How a cheapest-fit search ranks the hosts that can hold its demand: the smallest cost wins.
protocol HostRanking {
    /// The part of the demand that costs depend on, as a certificate: a demand at least this large costs at least
    /// as much on every host.
    var costDemand: SIMD4<Double> { get }
    /// At most the cost of every host below `node`, for the search's demand and any demand at least `costDemand`.
    /// `keys` are the index's smallest remaining-capacity keys by node.
    func lowerBound(node: Int, keys: UnsafeBufferPointer<Double>) -> Double
    /// The cost at the host at `position` (leaf `node`).
    func cost(node: Int, position: Int, keys: UnsafeBufferPointer<Double>) -> Double
}

/// Best fit: the cost is the host's normalised remaining capacity, whatever the demand.
struct RemainingCapacityRanking: HostRanking {
    var costDemand: SIMD4<Double> { .zero }

    func lowerBound(node: Int, keys: UnsafeBufferPointer<Double>) -> Double {
        keys[node]
    }

    func cost(node: Int, position: Int, keys: UnsafeBufferPointer<Double>) -> Double {
        keys[node]
    }
}
