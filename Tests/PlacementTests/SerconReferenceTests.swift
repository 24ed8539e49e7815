import Placement
import Testing

/// Sercon with a plain scan for each first fit, as Snooze wrote it, against the segment-tree implementation: the
/// same moves and freed hosts on random clusters.
struct SerconReferenceTests {
    @Test("the indexed Sercon makes the same plan as a plain scan")
    func sameAsPlainScan() {
        var random = SeededRandom(seed: 77)
        var freedTotal = 0
        for round in 0..<40 {
            let snapshot = RandomCluster.make(hosts: 10 + round, vms: 30 + round * 6, random: &random)
            let plan = SerconConsolidation().plan(snapshot)
            let reference = Self.referencePlan(snapshot, mid: RelocationThresholds.default.mid)
            #expect(MoveFixtures.spelled(plan.moves) == reference.moves)
            #expect(plan.freedHostIDs == reference.freed)
            freedTotal += plan.freedHostIDs.count
        }
        // The comparison means something only if plans free hosts.
        #expect(freedTotal > 40)
    }

    static func vector(_ value: ResourceVector) -> SIMD4<Double> {
        SIMD4(value.cpuCores, value.memoryBytes, value.networkRxBytesPerSecond, value.networkTxBytesPerSecond)
    }

    /// For snapshots whose hosts' use is exactly the sum of their VMs, as `RandomCluster` makes them.
    static func referencePlan(_ snapshot: ClusterSnapshot, mid: ResourceFractions) -> (moves: [String], freed: [String])
    {
        let hosts = snapshot.hosts
        let movable = hosts.indices.filter {
            hosts[$0].state == .active && !snapshot.busyHostIDs.contains(hosts[$0].id)
        }
        var reference = SIMD4<Double>(repeating: 0)
        for hostIndex in movable {
            reference = reference.replacing(
                with: vector(hosts[hostIndex].capacity),
                where: reference .< vector(hosts[hostIndex].capacity)
            )
        }
        var vmsOn = Array(repeating: [Int](), count: hosts.count)
        for (vmIndex, vm) in snapshot.vms.enumerated() {
            if let hostIndex = hosts.firstIndex(where: { $0.id == vm.hostID }) {
                vmsOn[hostIndex].append(vmIndex)
            }
        }
        let candidates = movable.filter { !vmsOn[$0].isEmpty }
        let loads = candidates.map {
            VectorNorm.l1.value(of: hosts[$0].estimatedUse.normalised(to: hosts[$0].capacity))
        }
        let order = candidates.indices.sorted { loads[$0] > loads[$1] || (loads[$0] == loads[$1] && $0 < $1) }
            .map { candidates[$0] }
        let midVector = SIMD4(mid.cpu, mid.memory, mid.networkRx, mid.networkTx)
        var free = order.map { hostIndex in
            let limit = vector(hosts[hostIndex].capacity) * midVector
            return limit - vector(hosts[hostIndex].estimatedUse) + limit.replacing(with: 0, where: limit .< 0) * 1e-9
        }
        func size(_ vmIndex: Int) -> Double {
            (vector(snapshot.vms[vmIndex].estimated) / reference).sum()
        }

        var received = Array(repeating: [Int](), count: hosts.count)
        var origin = Array(repeating: -1, count: snapshot.vms.count)
        var destination = Array(repeating: -1, count: snapshot.vms.count)
        var moveOrder: [Int] = []
        var freed: [String] = []
        for sourcePosition in order.indices.reversed() where sourcePosition > 0 {
            let source = order[sourcePosition]
            let list = vmsOn[source] + received[source]
            let sizes = list.map(size)
            let sorted = list.indices.sorted { sizes[$0] > sizes[$1] || (sizes[$0] == sizes[$1] && $0 < $1) }
                .map { list[$0] }
            var trial = free
            var placed: [(Int, Int)] = []
            for vmIndex in sorted {
                let demand = vector(snapshot.vms[vmIndex].estimated)
                guard let position = (0..<sourcePosition).first(where: { all(demand .<= trial[$0]) }) else { break }
                trial[position] -= demand
                placed.append((vmIndex, position))
            }
            guard placed.count == sorted.count else { continue }
            free = trial
            freed.append(hosts[source].id)
            for (vmIndex, position) in placed {
                if origin[vmIndex] < 0 {
                    origin[vmIndex] = source
                    moveOrder.append(vmIndex)
                }
                destination[vmIndex] = order[position]
                received[order[position]].append(vmIndex)
            }
        }
        let moves = moveOrder.map { "\(snapshot.vms[$0].id):\(hosts[origin[$0]].id)→\(hosts[destination[$0]].id)" }
        return (moves, freed)
    }
}
