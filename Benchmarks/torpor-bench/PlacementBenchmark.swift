import Foundation
import Placement

/// Plans 30,000 mixed VMs onto 5,000 mixed hosts with each placement policy and prints, per policy, the best of
/// three timings, how many hosts the plan uses against a lower bound, and how many VMs it could not place.
func runPlacementBenchmark() {
    let hostCount = 5_000
    let vmCount = 30_000
    var random = SplitMix64(state: 0x746F_7270_6F72)
    let snapshot = ClusterSnapshot(
        hosts: (0..<hostCount).map { PlacementBenchmarkCluster.host(index: $0, random: &random) }
    )
    let vms = (0..<vmCount).map { PlacementBenchmarkCluster.vm(index: $0, random: &random) }

    let usable = snapshot.hosts.filter { $0.state != .failed }
    var totalDemand = vms.reduce(ResourceVector.zero) { $0 + $1.estimated }
    for host in usable {
        totalDemand += host.estimatedUse
    }
    let lowerBound = HostCountLowerBound.hosts(covering: totalDemand, capacities: usable.map(\.capacity))

    let policies: [(name: String, policy: any PlacementPolicy)] = [
        ("FirstFit", FirstFit()),
        ("RoundRobin", RoundRobin()),
        ("BestFitDecreasing", BestFitDecreasing()),
    ]
    print(
        "placement: \(vmCount) VMs on \(hostCount) hosts (\(usable.count) usable, "
            + "\(snapshot.hosts.count { $0.state == .sleeping }) sleeping)"
    )
    print(
        PlacementBenchmarkCluster.row([
            "policy", "ms/plan", "hosts used", "lower bound", "used/bound", "woken", "unplaced",
        ])
    )
    var worstMilliseconds = 0.0
    for (name, policy) in policies {
        var plan = PlacementPlan(assignments: [], unplaced: [])
        var bestMilliseconds = Double.infinity
        for _ in 0..<3 {
            let elapsed = ContinuousClock().measure {
                plan = policy.place(vms, on: snapshot)
            }
            bestMilliseconds = min(bestMilliseconds, PlacementBenchmarkCluster.milliseconds(elapsed))
        }
        worstMilliseconds = max(worstMilliseconds, bestMilliseconds)

        var used = snapshot.hosts.map { $0.state != .failed && $0.estimatedUse != .zero }
        for assignment in plan.assignments {
            used[assignment.hostIndex] = true
        }
        let hostsUsed = used.count { $0 }
        let ratio = lowerBound.map { String(format: "%.3f", Double(hostsUsed) / Double(max($0, 1))) } ?? "-"
        print(
            PlacementBenchmarkCluster.row([
                name, String(format: "%.1f", bestMilliseconds), "\(hostsUsed)", lowerBound.map { "\($0)" } ?? "-",
                ratio, "\(plan.hostsToWake.count)", "\(plan.unplaced.count)",
            ])
        )
    }
    print("placement vms=\(vmCount) hosts=\(hostCount) worst_ms=\(String(format: "%.1f", worstMilliseconds))")
}

/// The benchmark's cluster, seeded so that every run plans the same one, and its output helpers.
private enum PlacementBenchmarkCluster {
    static let gibibyte = 1024.0 * 1024 * 1024
    /// 10 Gbit/s in bytes per second.
    static let tenGigabitsPerSecond = 1.25e9

    /// Three host classes; 40 % active (a third of those already carrying load), 58 % sleeping, 2 % failed, so the
    /// VMs outgrow the awake hosts and each policy has to choose which sleepers to wake.
    static func host(index: Int, random: inout SplitMix64) -> HostSnapshot {
        let cores = [16.0, 32, 64][Int.random(in: 0..<3, using: &random)]
        let capacity = ResourceVector(
            cpuCores: cores,
            memoryBytes: cores * 4 * gibibyte,
            networkRxBytesPerSecond: tenGigabitsPerSecond,
            networkTxBytesPerSecond: tenGigabitsPerSecond
        )
        let roll = Int.random(in: 0..<100, using: &random)
        let state: HostState = roll < 40 ? .active : roll < 98 ? .sleeping : .failed
        var use = ResourceVector.zero
        if state == .active && Int.random(in: 0..<3, using: &random) == 0 {
            use = capacity.scaled(
                by: ResourceFractions(
                    cpu: Double.random(in: 0..<0.2, using: &random),
                    memory: Double.random(in: 0..<0.2, using: &random),
                    networkRx: Double.random(in: 0..<0.05, using: &random),
                    networkTx: Double.random(in: 0..<0.05, using: &random)
                )
            )
        }
        return HostSnapshot(
            id: "host-\(index)",
            capacity: capacity,
            state: state,
            estimatedUse: use,
            vmIDs: use == .zero ? [] : ["existing-\(index)"]
        )
    }

    /// 1–8 cores, 1–32 GiB; three in ten VMs also move 10–500 Mbit/s each way.
    static func vm(index: Int, random: inout SplitMix64) -> VMRequest {
        let megabitPerSecond = 125_000.0
        let networked = Int.random(in: 0..<10, using: &random) < 3
        let demand = ResourceVector(
            cpuCores: [1.0, 2, 4, 8][Int.random(in: 0..<4, using: &random)],
            memoryBytes: [1.0, 2, 4, 8, 16, 32][Int.random(in: 0..<6, using: &random)] * gibibyte,
            networkRxBytesPerSecond: networked
                ? Double(10 + Int.random(in: 0...490, using: &random)) * megabitPerSecond : 0,
            networkTxBytesPerSecond: networked
                ? Double(10 + Int.random(in: 0...490, using: &random)) * megabitPerSecond : 0
        )
        return VMRequest(id: "vm-\(index)", requested: demand)
    }

    static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1e3 + Double(attoseconds) / 1e15
    }

    /// The policy name left-aligned, numbers right-aligned under their headings.
    static func row(_ cells: [String]) -> String {
        let widths = [18, 10, 12, 13, 12, 8, 10]
        return zip(cells, widths).enumerated().map { column, cell in
            let (text, width) = cell
            let padding = String(repeating: " ", count: max(width - text.count, 0))
            return column == 0 ? text + padding : padding + text
        }.joined()
    }
}
