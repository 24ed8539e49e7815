import Foundation
import Placement

/// `torpor-bench placement [--vms N --hosts M]`: plans mixed VMs onto mixed hosts with each placement policy. With a
/// size, one table for it; without, the same at 3,000, 30,000 and 300,000 VMs (hosts = VMs / 6), then each policy's
/// time side by side with how much it grew from one size to the next, against the old quadratic FirstFit.
func runPlacementBenchmark() {
    let arguments = Array(CommandLine.arguments.dropFirst(2))
    let sizes: [(vms: Int, hosts: Int)]
    do {
        sizes = try PlacementBenchmarkSize.parse(arguments)
    } catch {
        FileHandle.standardError.write(Data("torpor-bench placement: \(error)\n".utf8))
        exit(64)
    }
    let results = sizes.map(measurePlacement)
    guard results.count > 1 else { return }

    // CPU time: other work on the machine disturbs it less than wall time, so ratios between sizes mean more.
    print("\nCPU ms per plan (best of 3; the old FirstFit once), and growth from the previous size")
    let growthHeadings = zip(results, results.dropFirst()).map { "×\($1.vms / $0.vms) VMs" }
    print(PlacementBenchmarkCluster.summaryRow(["policy"] + results.map { "\($0.vms) VMs" } + growthHeadings))
    for name in placementPolicyNames + [oldFirstFitName] {
        let times = results.map { $0.cpuMilliseconds[name] ?? .nan }
        let growth = zip(times, times.dropFirst()).map { String(format: "×%.1f", $1 / $0) }
        print(PlacementBenchmarkCluster.summaryRow([name] + times.map { String(format: "%.1f", $0) } + growth))
    }
    // What growing like n log n would give between the same sizes.
    let nLogN = zip(results, results.dropFirst()).map { small, large in
        let (n, m) = (Double(small.vms), Double(large.vms))
        return String(format: "×%.1f", m * log(m) / (n * log(n)))
    }
    print(PlacementBenchmarkCluster.summaryRow(["n log n"] + results.map { _ in "" } + nLogN))
    let speedups = results.map { result in
        let ratio = (result.cpuMilliseconds[oldFirstFitName] ?? .nan) / (result.cpuMilliseconds["FirstFit"] ?? .nan)
        return String(format: "%.0f", ratio)
    }
    print(PlacementBenchmarkCluster.summaryRow(["old / new FirstFit"] + speedups))
    let worst = results.map {
        "worst_ms_\($0.vms)=" + String(format: "%.1f", $0.worstMilliseconds)
            + " worst_cpu_ms_\($0.vms)=" + String(format: "%.1f", $0.worstCPUMilliseconds)
    }
    print("placement " + worst.joined(separator: " "))
}

private let placementPolicyNames = ["FirstFit", "RoundRobin", "BestFitDecreasing", "PowerAware"]
private let oldFirstFitName = "FirstFit (old)"

/// One size's plans: wall and CPU milliseconds by policy name.
private struct PlacementMeasurement {
    var vms: Int
    var hosts: Int
    var milliseconds: [String: Double] = [:]
    var cpuMilliseconds: [String: Double] = [:]

    /// The slowest of the current policies.
    var worstMilliseconds: Double {
        placementPolicyNames.compactMap { milliseconds[$0] }.max() ?? 0
    }

    var worstCPUMilliseconds: Double {
        placementPolicyNames.compactMap { cpuMilliseconds[$0] }.max() ?? 0
    }
}

/// Plans `vmCount` VMs on `hostCount` hosts with every policy and prints, per policy, the best of three timings (wall
/// and CPU), how many hosts the plan uses against a lower bound, how many it wakes and how many VMs it could not
/// place; then the old FirstFit, checked to place exactly as the new one.
private func measurePlacement(vms vmCount: Int, hosts hostCount: Int) -> PlacementMeasurement {
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

    let policies: [any PlacementPolicy] = [FirstFit(), RoundRobin(), BestFitDecreasing(), PowerAwarePlacement()]
    print(
        "\nplacement: \(vmCount) VMs on \(hostCount) hosts (\(usable.count) usable, "
            + "\(snapshot.hosts.count { $0.state == .sleeping }) sleeping)"
    )
    print(
        PlacementBenchmarkCluster.row([
            "policy", "ms/plan", "cpu ms", "hosts used", "lower bound", "used/bound", "woken", "unplaced",
        ])
    )
    var measurement = PlacementMeasurement(vms: vmCount, hosts: hostCount)
    var firstFitHosts: [Int?] = []
    for (name, policy) in zip(placementPolicyNames, policies) {
        var plan = PlacementPlan(assignments: [], unplaced: [])
        let (wall, cpu) = PlacementBenchmarkCluster.bestOf(3) { plan = policy.place(vms, on: snapshot) }
        measurement.milliseconds[name] = wall
        measurement.cpuMilliseconds[name] = cpu

        var used = snapshot.hosts.map { $0.state != .failed && $0.estimatedUse != .zero }
        for assignment in plan.assignments {
            used[assignment.hostIndex] = true
        }
        if name == "FirstFit" {
            let hostByVM = Dictionary(uniqueKeysWithValues: plan.assignments.map { ($0.vmID, $0.hostIndex) })
            firstFitHosts = vms.map { hostByVM[$0.id] }
        }
        let hostsUsed = used.count { $0 }
        let ratio = lowerBound.map { String(format: "%.3f", Double(hostsUsed) / Double(max($0, 1))) } ?? "-"
        print(
            PlacementBenchmarkCluster.row([
                name, String(format: "%.1f", wall), String(format: "%.1f", cpu), "\(hostsUsed)",
                lowerBound.map { "\($0)" } ?? "-", ratio, "\(plan.hostsToWake.count)", "\(plan.unplaced.count)",
            ])
        )
    }

    // The alternative: slow enough at 300,000 VMs that one run is all it gets.
    var oldPlan = QuadraticFirstFit.Plan(hostIndices: [])
    let (wall, cpu) = PlacementBenchmarkCluster.bestOf(1) { oldPlan = QuadraticFirstFit().place(vms, on: snapshot) }
    measurement.milliseconds[oldFirstFitName] = wall
    measurement.cpuMilliseconds[oldFirstFitName] = cpu
    let same = oldPlan.hostIndices == firstFitHosts ? "same plan as FirstFit" : "PLAN DIFFERS FROM FirstFit"
    print(
        PlacementBenchmarkCluster.row([oldFirstFitName, String(format: "%.1f", wall), String(format: "%.1f", cpu)])
            + "  " + same
    )
    print(
        "placement vms=\(vmCount) hosts=\(hostCount) worst_ms=" + String(format: "%.1f", measurement.worstMilliseconds)
            + " worst_cpu_ms=" + String(format: "%.1f", measurement.worstCPUMilliseconds)
    )
    return measurement
}

/// `--vms N --hosts M`, both or neither.
private enum PlacementBenchmarkSize {
    struct UsageError: Error, CustomStringConvertible {
        var description: String
    }

    /// 3,000, 30,000 and 300,000 VMs, six per host.
    static let defaults = [3_000, 30_000, 300_000].map { (vms: $0, hosts: $0 / 6) }

    static func parse(_ arguments: [String]) throws -> [(vms: Int, hosts: Int)] {
        var vms: Int?
        var hosts: Int?
        var remaining = arguments[...]
        while let option = remaining.popFirst() {
            guard option == "--vms" || option == "--hosts" else {
                throw UsageError(description: "unknown argument \(option); usage: placement [--vms N --hosts M]")
            }
            guard let text = remaining.popFirst(), let value = Int(text), value > 0 else {
                throw UsageError(description: "\(option) needs a positive whole number")
            }
            if option == "--vms" { vms = value } else { hosts = value }
        }
        switch (vms, hosts) {
        case (nil, nil): return defaults
        case (let vms?, let hosts?): return [(vms, hosts)]
        case (nil, _): throw UsageError(description: "--hosts needs --vms too")
        case (_, nil): throw UsageError(description: "--vms needs --hosts too")
        }
    }
}

/// The benchmark's cluster, seeded so that every run plans the same one, and its output helpers.
enum PlacementBenchmarkCluster {
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

    /// The best wall time of `runs` runs and the CPU time of the same run, in milliseconds. CPU time says what the
    /// plan costs when other work shares the machine.
    static func bestOf(_ runs: Int, _ body: () -> Void) -> (wall: Double, cpu: Double) {
        var best = (wall: Double.infinity, cpu: Double.infinity)
        for _ in 0..<runs {
            let cpuBefore = processCPUMilliseconds()
            let elapsed = ContinuousClock().measure(body)
            let cpu = processCPUMilliseconds() - cpuBefore
            if milliseconds(elapsed) < best.wall {
                best = (milliseconds(elapsed), cpu)
            }
        }
        return best
    }

    private static func processCPUMilliseconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) * 1e3 + Double(time.tv_nsec) / 1e6
    }

    /// The policy name left-aligned, numbers right-aligned under their headings.
    static func row(_ cells: [String]) -> String {
        aligned(cells, widths: [18, 10, 10, 12, 13, 12, 8, 10])
    }

    static func summaryRow(_ cells: [String]) -> String {
        aligned(cells, widths: [20] + Array(repeating: 12, count: max(cells.count - 1, 0)))
    }

    private static func aligned(_ cells: [String], widths: [Int]) -> String {
        zip(cells, widths + Array(repeating: 12, count: max(cells.count - widths.count, 0))).enumerated().map {
            column,
            cell in
            let (text, width) = cell
            let padding = String(repeating: " ", count: max(width - text.count, 0))
            return column == 0 ? text + padding : padding + text
        }.joined()
    }
}
