/// Snooze's relocation on estimates, with thresholds on by default.
///
/// - Overload (any dimension of a host's estimated use above MAX): the fewest VMs whose removal brings every
///   dimension back to MAX or below, the cheapest to migrate among equals (exact when one VM suffices; otherwise a
///   greedy cover, then VMs it does not need are dropped and each is swapped for a cheaper one that still covers).
/// - Underload (every dimension below MIN, with VMs): all of the host's VMs move, or none.
/// - Destinations: active hosts outside `busyHostIDs` that are not being relieved or emptied, chosen by
///   `placement` on capacities capped at MID (a policy's own fill limit applies on top). A host whose VMs do not
///   all find a destination keeps them all, and the others are planned again without it.
public struct Relocation: Sendable {
    public var thresholds: RelocationThresholds
    public var costModel: MigrationCostModel
    public var placement: any PlacementPolicy

    /// Placement rounds before hosts whose VMs do not all fit are simply dropped.
    static let maximumPlacementRounds = 8

    public init(
        thresholds: RelocationThresholds = .default,
        costModel: MigrationCostModel = MigrationCostModel(),
        placement: any PlacementPolicy = FirstFit()
    ) {
        self.thresholds = thresholds
        self.costModel = costModel
        self.placement = placement
    }

    public func plan(_ snapshot: ClusterSnapshot) -> RelocationPlan {
        let cluster = ConsolidationCluster(snapshot: snapshot, mid: thresholds.mid, costModel: costModel)
        let maximum = thresholds.maximum.simd
        let minimum = thresholds.minimum.simd
        var reasons: [String] = []
        var overloaded: [Int] = []
        var underloaded: [Int] = []
        var isSource = Array(repeating: false, count: cluster.hosts.count)
        var isUnderloaded = Array(repeating: false, count: cluster.hosts.count)
        // VMs to move, per source host, in the order they are handed to the placement policy.
        var selections: [(source: Int, vms: [Int])] = []

        for (hostIndex, host) in cluster.hosts.enumerated() where host.state == .active {
            let fractions = ResourceVector.divide(cluster.use[hostIndex], by: host.capacity.simd)
            if any(fractions .> maximum) {
                overloaded.append(hostIndex)
                let what = Self.describeOverload(fractions, maximum: maximum)
                guard cluster.isMovable[hostIndex] else {
                    reasons.append(
                        "\(host.id) overloaded (\(what)): left alone, a migration or power change is under way"
                    )
                    continue
                }
                isSource[hostIndex] = true
                if let vms = relief(for: hostIndex, in: cluster) {
                    selections.append((hostIndex, vms))
                } else {
                    reasons.append("\(host.id) overloaded (\(what)): its movable VMs cannot bring it under MAX")
                }
            } else if all(fractions .< minimum), cluster.isUsed[hostIndex] {
                underloaded.append(hostIndex)
                isUnderloaded[hostIndex] = true
                let what = Self.describeUnderload(fractions, minimum: minimum)
                guard cluster.isMovable[hostIndex] else {
                    reasons.append(
                        "\(host.id) underloaded (\(what)): left alone, a migration or power change is under way"
                    )
                    continue
                }
                if cluster.hasUnmovableLoad[hostIndex] {
                    // It stays in use, so it may as well take VMs.
                    reasons.append("\(host.id) underloaded (\(what)): not emptied, part of its load cannot move")
                } else {
                    isSource[hostIndex] = true
                    selections.append((hostIndex, cluster.vmsOnHost[hostIndex]))
                }
            }
        }
        // Overloaded hosts first: relieving them matters more than emptying others.
        selections.sort {
            (isUnderloaded[$0.source] ? 1 : 0, $0.source) < (isUnderloaded[$1.source] ? 1 : 0, $1.source)
        }

        let destinations = cluster.hosts.indices.filter { cluster.isMovable[$0] && !isSource[$0] }
        var remaining = selections
        var movesBySource: [Int: [MigrationMove]] = [:]
        var outcome: [Int: String] = [:]
        // A host whose VMs did not all fit moves none; if some of them took capacity, the others are planned again
        // without it (a few rounds at most, then whatever did not fit is dropped).
        var round = 0
        while !remaining.isEmpty {
            round += 1
            let assignments = place(remaining, on: destinations, cluster: cluster)
            var partlyPlaced = Set<Int>()
            var failed = Set<Int>()
            for (selection, placed) in zip(remaining, assignments) where placed.contains(nil) {
                failed.insert(selection.source)
                if placed.contains(where: { $0 != nil }) {
                    partlyPlaced.insert(selection.source)
                }
                outcome[selection.source] =
                    "no destination within MID for all \(ConsolidationPlan.count(selection.vms.count, "VM")) to move"
            }
            if !partlyPlaced.isEmpty && round < Self.maximumPlacementRounds {
                remaining.removeAll { partlyPlaced.contains($0.source) }
                continue
            }
            for (selection, placed) in zip(remaining, assignments) where !failed.contains(selection.source) {
                let source = selection.source
                movesBySource[source] = zip(selection.vms, placed).map { vmIndex, destination in
                    cluster.move(vmIndex, from: source, to: destination ?? source)
                }
                let count = ConsolidationPlan.count(selection.vms.count, "VM")
                outcome[source] =
                    isUnderloaded[source] ? "moving its \(count) empties it" : "moving \(count) relieves it"
            }
            break
        }

        var moves: [MigrationMove] = []
        var emptied: [Int] = []
        for (source, _) in selections {
            guard let text = outcome[source] else { continue }
            if let sourceMoves = movesBySource[source] {
                moves += sourceMoves
                if isUnderloaded[source] {
                    emptied.append(source)
                }
            }
            let host = cluster.hosts[source]
            let fractions = ResourceVector.divide(cluster.use[source], by: host.capacity.simd)
            let condition =
                isUnderloaded[source]
                ? "underloaded (\(Self.describeUnderload(fractions, minimum: minimum)))"
                : "overloaded (\(Self.describeOverload(fractions, maximum: maximum)))"
            reasons.append("\(host.id) \(condition): \(text)")
        }
        return RelocationPlan(
            moves: moves,
            overloadedHostIDs: overloaded.map { cluster.hosts[$0].id },
            underloadedHostIDs: underloaded.map { cluster.hosts[$0].id },
            emptiedHostIDs: emptied.map { cluster.hosts[$0].id },
            reasons: reasons
        )
    }
}
