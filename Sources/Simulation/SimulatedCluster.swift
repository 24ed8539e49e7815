import Placement

/// The simulated hosts and VMs in flat arrays: where each VM runs, each host's CPU load, and each host's
/// utilisation history as the overload detectors see it. Mutated by the policies while they plan, so a plan sees
/// the moves decided before it (CloudSim's working allocation).
struct SimulatedCluster {
    let hostCapacity: [Double]
    let hostCoreMips: [Double]
    let hostPower: [HostPowerModel]
    let hostBandwidth: [Double]
    let hostMemory: [Double]
    let vmMips: [Double]
    let vmMemory: [Double]
    let intervalSeconds: Double

    /// Host of each VM, -1 before its first placement and once finished.
    var vmHost: [Int]
    /// VMs that left the simulation (`Scenario.followsCloudSimCode`); they ask for nothing from then on.
    var finished: [Bool]
    /// VMs on each host in arrival order (MMT takes the first of equals in this order).
    var hostVMs: [[Int]]
    /// CPU demand (MIPS) each VM asks for in the current interval.
    var demand: [Double]
    /// Sum of the demand of each host's VMs.
    var load: [Double]
    /// `historyLength` values per host, newest first: the host's VMs' utilisation histories scaled to the host.
    var history: [Double]
    /// Utilisation of each VM over its past intervals, newest first, per VM (`historyLength` each).
    var vmHistory: [Double]

    static let historyLength = OverloadDetector.historyLength

    init(scenario: Scenario, vmCount: Int) {
        let types = scenario.hosts.map { scenario.hostTypes[$0] }
        hostCapacity = types.map(\.mips)
        hostCoreMips = types.map(\.mipsPerCore)
        hostPower = types.map(\.power)
        hostBandwidth = types.map(\.bandwidthBytesPerSecond)
        hostMemory = types.map(\.memoryBytes)
        let vmTypes = (0..<vmCount).map { scenario.vmType(ofVM: $0, count: vmCount) }
        vmMips = vmTypes.map(\.mips)
        vmMemory = vmTypes.map(\.memoryBytes)
        intervalSeconds = scenario.intervalSeconds
        vmHost = Array(repeating: -1, count: vmCount)
        finished = Array(repeating: false, count: vmCount)
        hostVMs = Array(repeating: [], count: types.count)
        demand = Array(repeating: 0, count: vmCount)
        load = Array(repeating: 0, count: types.count)
        history = Array(repeating: 0, count: types.count * Self.historyLength)
        vmHistory = Array(repeating: 0, count: vmCount * Self.historyLength)
    }

    var hostCount: Int { hostCapacity.count }
    var vmCount: Int { vmMips.count }

    /// Sets every VM's demand for `step` and its history (this interval's utilisation newest), then recomputes the
    /// hosts' loads and histories from scratch.
    mutating func enter(step: Int, of workload: Workload, fullDemand: Bool = false) {
        let length = Self.historyLength
        let available = min(step + 1, length)
        for vm in 0..<vmCount {
            demand[vm] =
                finished[vm] ? 0 : fullDemand ? vmMips[vm] : workload.utilization(vm: vm, step: step) * vmMips[vm]
            let base = vm * length
            for offset in 0..<length {
                vmHistory[base + offset] = offset < available ? workload.utilization(vm: vm, step: step - offset) : 0
            }
        }
        for host in 0..<hostCount {
            load[host] = 0
        }
        for index in history.indices { history[index] = 0 }
        for vm in 0..<vmCount where vmHost[vm] >= 0 {
            addToHostSums(vm, host: vmHost[vm], sign: 1)
        }
    }

    /// Takes off their hosts, for good, the VMs CloudSim would find finished at `step`'s start: those asking for
    /// nothing there and at the next sample (CloudSim samples a moment after the interval starts and interpolates
    /// towards the next value, so one zero between two non-zero samples is not nothing). Returns how many left.
    mutating func finishIdleVMs(step: Int, of workload: Workload) -> Int {
        let next = min(step + 1, workload.stepCount - 1)
        var count = 0
        for vm in 0..<vmCount where vmHost[vm] >= 0 && !finished[vm] {
            guard workload.utilization(vm: vm, step: step) == 0, workload.utilization(vm: vm, step: next) == 0 else {
                continue
            }
            let host = vmHost[vm]
            if let index = hostVMs[host].firstIndex(of: vm) { hostVMs[host].remove(at: index) }
            addToHostSums(vm, host: host, sign: -1)
            vmHost[vm] = -1
            finished[vm] = true
            demand[vm] = 0
            count += 1
        }
        return count
    }

    /// Puts `vm` on `host` (taking it off its current host first).
    mutating func move(_ vm: Int, to host: Int) {
        let from = vmHost[vm]
        if from >= 0 {
            if let index = hostVMs[from].firstIndex(of: vm) { hostVMs[from].remove(at: index) }
            addToHostSums(vm, host: from, sign: -1)
        }
        vmHost[vm] = host
        hostVMs[host].append(vm)
        addToHostSums(vm, host: host, sign: 1)
    }

    private mutating func addToHostSums(_ vm: Int, host: Int, sign: Double) {
        load[host] += sign * demand[vm]
        if load[host] < 1e-9, hostVMs[host].isEmpty { load[host] = 0 }
        let length = Self.historyLength
        let scale = sign * vmMips[vm] / hostCapacity[host]
        for offset in 0..<length {
            history[host * length + offset] += vmHistory[vm * length + offset] * scale
        }
    }

    /// The fraction of its capacity `host`'s VMs ask for.
    @inline(__always)
    func utilization(_ host: Int) -> Double { load[host] / hostCapacity[host] }

    /// What the host's VMs get: each at most one core, and all together at most the host (shared in proportion).
    func allocated(_ host: Int) -> Double {
        var sum = 0.0
        for vm in hostVMs[host] { sum += min(demand[vm], hostCoreMips[host]) }
        return min(sum, hostCapacity[host])
    }

    /// Whether the host's VMs ask for more than they get: a VM above one core, or the host past its capacity.
    func isViolating(_ host: Int) -> Bool {
        allocated(host) < load[host] * (1 - 1e-12)
    }

    /// How long migrating `vm` off `host` takes (RAM ÷ half the link, as CloudSim).
    func migrationSeconds(_ vm: Int, from host: Int) -> Double {
        MinimumMigrationTime.migrationSeconds(
            memoryBytes: vmMemory[vm],
            bandwidthBytesPerSecond: hostBandwidth[host] / 2
        )
    }
}
