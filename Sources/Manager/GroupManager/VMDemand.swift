import Placement
import Wire

/// One VM's monitoring as the estimator takes it: what its host's hypervisor says it was given and its newest
/// samples from the host's report ring. The group manager hands these to `Placement.Estimator`.
public struct VMDemand: Sendable, Hashable {
    /// The VM's UUID, lower case (the store's id).
    public var vmID: String
    public var name: String
    public var hostID: String
    public var state: VMState
    /// vCPUs and memory from the inventory; no network: the hypervisor does not know what the VM asked for.
    public var configured: ResourceVector
    /// The newest samples, at most the estimator's window, oldest first.
    public var samples: [ResourceVector]

    public init(
        vmID: String,
        name: String,
        hostID: String,
        state: VMState,
        configured: ResourceVector,
        samples: [ResourceVector]
    ) {
        self.vmID = vmID
        self.name = name
        self.hostID = hostID
        self.state = state
        self.configured = configured
        self.samples = samples
    }
}

/// One VM's estimate as the group manager has it.
public struct VMEstimate: Sendable, Hashable {
    /// The host whose inventory lists it.
    public var hostID: String
    public var estimated: ResourceVector
    /// Samples averaged; 0 when the estimate is the (density-scaled) request.
    public var samples: Int
}

extension VMEstimate {
    var wire: ClusterReply.VMEstimate {
        ClusterReply.VMEstimate(estimated: ResourceAmounts(estimated), samples: UInt16(clamping: samples))
    }
}

/// A host's estimated use next to what its VMs were given, for `torpor hosts`.
public struct HostDemand: Sendable, Hashable {
    /// The sum of its active VMs' estimates.
    public var estimatedUse: ResourceVector
    /// The sum of its active VMs' vCPUs and memory.
    public var requested: ResourceVector
    /// Active VMs whose estimate comes from samples (the others are taken at their request).
    public var measuredVMs: Int
}

extension ResourceVector {
    /// A VM sample in placement's units: cores, bytes, bytes per second.
    init(_ sample: MonitoringReport.VMSample) {
        self.init(
            cpuCoresInUse: sample.cpuCoresInUse,
            memoryBytes: Double(sample.memoryInUseKiB) * 1024,
            networkRx: sample.networkRxBytesPerSecond,
            networkTx: sample.networkTxBytesPerSecond
        )
    }

    private init(cpuCoresInUse: Float, memoryBytes: Double, networkRx: Float, networkTx: Float) {
        self.init(
            cpuCores: Double(cpuCoresInUse),
            memoryBytes: memoryBytes,
            networkRxBytesPerSecond: Double(networkRx),
            networkTxBytesPerSecond: Double(networkTx)
        )
    }

    /// A host's capacity in placement's units.
    public init(_ capacity: HostCapacity) {
        self.init(
            cpuCores: Double(capacity.cores),
            memoryBytes: Double(capacity.memoryBytes),
            networkRxBytesPerSecond: Double(capacity.nicRxBytesPerSecond),
            networkTxBytesPerSecond: Double(capacity.nicTxBytesPerSecond)
        )
    }
}

extension HostRecord {
    /// Every VM of the latest inventory with its newest `window` samples from the ring. Slots are never reused on
    /// one connection and the ring starts empty at each join, so a slot names the same VM in every kept report.
    func demands(window: Int) -> [VMDemand] {
        demands(window: window, countingNewIn: 0).demands
    }

    /// `demands(window:)`, and for each VM how many of its samples come from the newest `newestReports` reports:
    /// the samples a leader link has not sent yet.
    func demands(window: Int, countingNewIn newestReports: Int) -> (demands: [VMDemand], newSamples: [Int]) {
        guard let inventory else { return ([], []) }
        var bySlot: [UInt16: Int] = [:]
        var result: [VMDemand] = []
        result.reserveCapacity(inventory.vms.count)
        for entry in inventory.vms {
            bySlot[entry.slot] = result.count
            result.append(
                VMDemand(
                    vmID: entry.uuid.description,
                    name: entry.name,
                    hostID: hostID,
                    state: entry.state,
                    configured: ResourceVector(
                        cpuCores: Double(entry.virtualCPUs),
                        memoryBytes: Double(entry.memoryKiB) * 1024
                    ),
                    samples: []
                )
            )
        }
        var newSamples = [Int](repeating: 0, count: result.count)
        guard window > 0, !bySlot.isEmpty else { return (result, newSamples) }
        // Newest first, then reversed: each VM gets its own newest `window` samples.
        for (age, report) in reports.elements().reversed().enumerated() {
            for sample in report.vms {
                guard let index = bySlot[sample.slot], result[index].samples.count < window else { continue }
                result[index].samples.append(ResourceVector(sample))
                if age < newestReports { newSamples[index] += 1 }
            }
        }
        for index in result.indices { result[index].samples.reverse() }
        return (result, newSamples)
    }

    /// The sum of the active VMs' estimates and requests.
    func demand(estimator: Estimator) -> HostDemand {
        Self.demand(of: demands(window: estimator.window), estimator: estimator)
    }

    /// The sum of the active VMs' estimates and requests, from demands already read.
    static func demand(of demands: [VMDemand], estimator: Estimator) -> HostDemand {
        var total = HostDemand(estimatedUse: .zero, requested: .zero, measuredVMs: 0)
        for vm in demands where vm.state.isActive {
            total.estimatedUse += estimator.estimate(samples: vm.samples, requested: vm.configured)
            total.requested += vm.configured
            if !estimator.isStatic, !vm.samples.isEmpty { total.measuredVMs += 1 }
        }
        return total
    }
}

/// Which host's samples estimate each VM, for the registry (samples from its rings) and the leader's view of remote
/// group managers (samples from their reports): a host whose inventory lists the VM active, else any host that lists
/// it; with none of its samples, the estimate is `requested`. VMs no host lists get no estimate.
struct VMEstimateSelection {
    private let requested: [String: ResourceVector]
    private var chosen: [String: (hostID: String, samples: [ResourceVector], active: Bool)] = [:]

    /// `requested`: lower-case UUID → what the VM asked for.
    init(requested: [String: ResourceVector]) {
        self.requested = requested
    }

    /// True when the VM is one asked for and a host listing it (`active` or not) would be chosen over any so far.
    func wants(_ vmID: String, active: Bool) -> Bool {
        guard requested[vmID] != nil else { return false }
        guard let chosen = chosen[vmID] else { return true }
        return !chosen.active && active
    }

    /// Offers one host's listing of a VM with its newest samples (at most the estimator's window, oldest first).
    mutating func offer(_ vmID: String, active: Bool, hostID: String, samples: @autoclosure () -> [ResourceVector]) {
        guard wants(vmID, active: active) else { return }
        chosen[vmID] = (hostID, samples(), active)
    }

    func estimates(by estimator: Estimator) -> [String: VMEstimate] {
        chosen.reduce(into: [:]) { result, item in
            guard let wanted = requested[item.key] else { return }
            result[item.key] = VMEstimate(
                hostID: item.value.hostID,
                estimated: estimator.estimate(samples: item.value.samples, requested: wanted),
                samples: estimator.isStatic ? 0 : item.value.samples.count
            )
        }
    }
}
