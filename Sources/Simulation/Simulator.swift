import Placement

/// Runs a policy over a workload on a scenario's cluster, one control interval at a time, and measures what
/// CloudSim measures. Pure: no files, no clock; progress goes to a callback.
public struct Simulator: Sendable {
    public var scenario: Scenario
    public var workload: Workload
    public var policy: SimulationPolicy

    public init(scenario: Scenario, workload: Workload, policy: SimulationPolicy) {
        self.scenario = scenario
        self.workload = workload
        self.policy = policy
    }

    /// `progress(done, total)` is called after every interval.
    public func run(progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }) -> SimulationResult {
        var cluster = SimulatedCluster(scenario: scenario, vmCount: workload.vmCount)
        let interval = scenario.intervalSeconds
        let steps = workload.stepCount
        var accounting = Accounting(hostCount: cluster.hostCount)
        var intervals: [SimulationResult.Interval] = []
        intervals.reserveCapacity(steps)
        var migrationCount = 0
        var vmsFinished = 0

        placeInitially(&cluster)
        var torporPlanner: TorporPlanner?
        var consolidationEvery = 1
        if case .torpor(let torpor) = policy.migration {
            torporPlanner = TorporPlanner(policy: torpor, placement: policy.initialPlacement)
            consolidationEvery = max(1, Int((torpor.scheduleSeconds / interval).rounded()))
        }
        let realistic = scenario.profile == .realistic
        let settings = scenario.powerManagement
        var power = realistic ? HostPowerStates(cluster: cluster, settings: settings) : nil
        for step in 0..<steps {
            let time = Double(step) * interval
            cluster.enter(step: step, of: workload)
            // CloudSim's first update comes one interval after the VMs are created at their full MIPS.
            if scenario.followsCloudSimCode, step > 0 { vmsFinished += cluster.finishIdleVMs(step: step, of: workload) }
            power?.enter(time: time)
            // Before this interval's migrations: who runs what, for the time the migrations take.
            let before = HostView(cluster, awake: power)
            var migrations: [BeloglazovPlanner.Migration] = []
            var overloaded = 0
            if step > 0, case .beloglazov(let detector) = policy.migration {
                (migrations, overloaded) = BeloglazovPlanner(
                    detector: detector,
                    followsCloudSimCode: scenario.followsCloudSimCode
                ).plan(&cluster)
            } else if let torporPlanner {
                // From the first interval: the manager plans on every refresh, also the one right after placement.
                overloaded = (0..<cluster.hostCount).count { cluster.utilization($0) > torporPlanner.maximumCPU }
                migrations = torporPlanner.plan(
                    &cluster,
                    consolidate: step % consolidationEvery == 0,
                    states: power?.placementStates,
                    countsMemory: realistic
                )
            }
            migrationCount += migrations.count

            // Each host runs as before until its last outgoing migration ends, as planned after. CloudSim: each
            // migration takes RAM ÷ half the link, all at once; realistic: RAM ÷ the link, one after another.
            var leavingSeconds = Array(repeating: 0.0, count: cluster.hostCount)
            var touched = Array(repeating: false, count: cluster.hostCount)
            for migration in migrations {
                touched[migration.from] = true
                touched[migration.to] = true
                let seconds: Double
                if realistic {
                    seconds = min(cluster.vmMemory[migration.vm] / cluster.hostBandwidth[migration.from], interval)
                    leavingSeconds[migration.from] = min(leavingSeconds[migration.from] + seconds, interval)
                } else {
                    seconds = min(cluster.migrationSeconds(migration.vm, from: migration.from), interval)
                    leavingSeconds[migration.from] = max(leavingSeconds[migration.from], seconds)
                }
                accounting.lostToMigration +=
                    (1 - scenario.migrationPerformance) * cluster.demand[migration.vm] * seconds
            }
            for vm in 0..<cluster.vmCount { accounting.requested += cluster.demand[vm] * interval }

            // The energy saver, realistic profile: empty hosts beyond the reserve sleep, the reserve is refilled.
            var slept: [Int] = []
            var woken: [Int] = []
            if var states = power {
                (slept, woken) = states.save(cluster: cluster, time: time, touched: touched)
                power = states
            }
            let after = HostView(cluster, awake: power)
            let nextLoad = step + 1 < steps ? loads(of: cluster, at: step + 1) : cluster.load
            var joules = 0.0
            var hostsViolating = 0
            for host in 0..<cluster.hostCount {
                let early = leavingSeconds[host]
                let late = interval - early
                if before.isActive[host] {
                    accounting.activeSeconds += early
                    if before.isViolating[host] { accounting.violatingSeconds += early }
                }
                if after.isActive[host] {
                    accounting.activeSeconds += late
                    if after.isViolating[host] { accounting.violatingSeconds += late }
                    // The mean of the power at both ends of the interval (CloudSim's); CloudSim's idle host is off.
                    let model = cluster.hostPower[host]
                    let start = model.watts(atUtilization: after.utilization[host])
                    let end = model.watts(atUtilization: min(nextLoad[host] / cluster.hostCapacity[host], 1))
                    joules += (start + end) / 2 * interval
                } else if realistic {
                    joules += standbyJoules(host, cluster: cluster, slept: slept, woken: woken, interval: interval)
                }
                if (before.isActive[host] && before.isViolating[host] && early > 0)
                    || (after.isActive[host] && after.isViolating[host])
                {
                    hostsViolating += 1
                }
            }
            accounting.joules += joules
            intervals.append(
                SimulationResult.Interval(
                    hostsOn: after.isActive.count { $0 },
                    watts: joules / interval,
                    hostsViolating: hostsViolating,
                    migrations: migrations.count,
                    hostsOverloaded: overloaded,
                    hostsWoken: realistic
                        ? woken.count : Set(migrations.map(\.to).filter { !before.isActive[$0] }).count
                )
            )
            progress(step + 1, steps)
        }

        return SimulationResult(
            policy: policy.name,
            profile: scenario.profile,
            hostCount: cluster.hostCount,
            vmCount: cluster.vmCount,
            intervalSeconds: interval,
            energyKWh: accounting.joules / 3_600_000,
            slatah: accounting.activeSeconds > 0 ? accounting.violatingSeconds / accounting.activeSeconds : 0,
            pdm: accounting.requested > 0 ? accounting.lostToMigration / accounting.requested : 0,
            migrations: migrationCount,
            intervals: intervals,
            vmsFinished: vmsFinished
        )
    }

    /// CloudSim creates every VM at its full MIPS, one after the other, before the first interval. Torpor's
    /// policies place each by the same rule at what the manager's estimator counts for a VM with no samples yet, its
    /// request × `estimator.packing_density`; relocation and consolidation then start from the first interval.
    private func placeInitially(_ cluster: inout SimulatedCluster) {
        cluster.enter(step: 0, of: workload, fullDemand: true)
        if case .torpor(let torpor) = policy.migration, torpor.packingDensity < 1 {
            for vm in 0..<cluster.vmCount { cluster.demand[vm] *= torpor.packingDensity }
        }
        let detector: OverloadDetector
        switch policy.migration {
        case .beloglazov(let configured): detector = configured
        case .none, .torpor: detector = .staticThreshold(1)
        }
        var scratch = Array(repeating: 0.0, count: SimulatedCluster.historyLength)
        let excluded = Array(repeating: false, count: cluster.hostCount)
        // CloudSim's code prices a host from its measured power, and nothing has been measured yet.
        let measured = scenario.followsCloudSimCode ? Array(repeating: 0.0, count: cluster.hostCount) : nil
        for vm in 0..<cluster.vmCount {
            let host: Int?
            switch policy.initialPlacement {
            case .powerAware:
                host = cluster.powerAwareHost(
                    for: vm,
                    excluding: excluded,
                    detector: detector,
                    scratch: &scratch,
                    pricedFrom: measured
                )
            case .firstFit:
                host = cluster.firstFitHost(for: vm)
            }
            // A VM nothing can take at full MIPS goes to the host with the most free MIPS, as an operator would.
            let chosen =
                host ?? (0..<cluster.hostCount).max { lhs, rhs in
                    cluster.hostCapacity[lhs] - cluster.load[lhs] < cluster.hostCapacity[rhs] - cluster.load[rhs]
                }!
            cluster.move(vm, to: chosen)
        }
    }

    /// A host not awake for the whole interval, realistic profile: idle power while it goes to sleep or wakes,
    /// standby power the rest of the time.
    private func standbyJoules(
        _ host: Int,
        cluster: SimulatedCluster,
        slept: [Int],
        woken: [Int],
        interval: Double
    ) -> Double {
        let settings = scenario.powerManagement
        let idle = cluster.hostPower[host].watts(atUtilization: 0)
        let transition =
            slept.contains(host) ? settings.sleepSeconds : woken.contains(host) ? settings.wakeSeconds : 0
        return transition * idle + (interval - transition) * settings.standbyWatts
    }

    private func loads(of cluster: SimulatedCluster, at step: Int) -> [Double] {
        var result = Array(repeating: 0.0, count: cluster.hostCount)
        for vm in 0..<cluster.vmCount where cluster.vmHost[vm] >= 0 {
            result[cluster.vmHost[vm]] += workload.utilization(vm: vm, step: step) * cluster.vmMips[vm]
        }
        return result
    }
}

/// Running sums of the metrics.
private struct Accounting {
    var joules = 0.0
    var activeSeconds = 0.0
    var violatingSeconds = 0.0
    var requested = 0.0
    var lostToMigration = 0.0

    init(hostCount: Int) {}
}

/// Each host's state at one moment of an interval.
private struct HostView {
    var isActive: [Bool]
    var isViolating: [Bool]
    var utilization: [Double]

    /// Active: awake in the realistic profile (`awake` given), asking for CPU in CloudSim's.
    init(_ cluster: SimulatedCluster, awake power: HostPowerStates?) {
        if let power {
            isActive = power.state.map { $0 == .awake }
        } else {
            isActive = (0..<cluster.hostCount).map { cluster.load[$0] > 0 }
        }
        isViolating = (0..<cluster.hostCount).map { cluster.isViolating($0) }
        utilization = (0..<cluster.hostCount).map { min(cluster.allocated($0) / cluster.hostCapacity[$0], 1) }
    }
}
