import Rings
import Wire

/// The agent's memory of recent rounds: a ring buffer for the host and one per VM, and the slot numbers
/// that name VMs in MonitoringReports. A VM's ring is released as soon as the VM is gone.
public struct MonitoringStore: Sendable {
    public struct HostRecord: Sendable, Hashable {
        public var timestampMilliseconds: Int64
        public var sample: MonitoringReport.HostSample
    }

    public struct VMEntry: Sendable {
        public var slot: UInt16
        public var observation: VMObservation
        public var samples: RingBuffer<VMMetrics>
    }

    public let ringCapacity: Int
    public private(set) var host: RingBuffer<HostRecord>
    public private(set) var vms: [WireUUID: VMEntry] = [:]
    /// Bumped whenever the VM set or a VM's state changes, so the link knows to resend Inventory.
    public private(set) var inventoryGeneration = 0
    /// Whether the newest round read both the host and the VMs. A round with a failed collector is a gap: it
    /// records nothing for what it could not read, and no report is made from it.
    public private(set) var newestRoundComplete = false
    private var nextSlot: UInt16 = 0

    public init(ringCapacity: Int) {
        self.ringCapacity = ringCapacity
        self.host = RingBuffer(capacity: ringCapacity)
    }

    /// Records one round. VMs missing from `vms` are forgotten with their rings; `vms` nil (the domain collector
    /// failed) keeps every VM as it was, with no new sample. `host` nil (the host collector failed) adds no host
    /// sample. Either makes the round incomplete.
    public mutating func record(
        time: SampleTime,
        host hostOutput: HostCollector.Output?,
        vms observations: [VMObservation]?
    ) {
        newestRoundComplete = hostOutput?.cpuCoresInUse != nil && observations != nil
        if let hostOutput, let cpu = hostOutput.cpuCoresInUse {
            host.append(
                HostRecord(
                    timestampMilliseconds: time.wallClockMilliseconds,
                    sample: MonitoringReport.HostSample(
                        cpuCoresInUse: Float(cpu),
                        memoryInUseBytes: hostOutput.memoryInUseBytes,
                        networkRxBytesPerSecond: Float(hostOutput.networkRxBytesPerSecond ?? 0),
                        networkTxBytesPerSecond: Float(hostOutput.networkTxBytesPerSecond ?? 0)
                    )
                )
            )
        }
        guard let observations else { return }
        var seen = Set<WireUUID>()
        for observation in observations {
            seen.insert(observation.uuid)
            if var entry = vms[observation.uuid] {
                if entry.observation.state != observation.state || entry.observation.name != observation.name {
                    inventoryGeneration += 1
                }
                entry.observation = observation
                if let metrics = observation.metrics { entry.samples.append(metrics) }
                vms[observation.uuid] = entry
            } else {
                var ring = RingBuffer<VMMetrics>(capacity: ringCapacity)
                if let metrics = observation.metrics { ring.append(metrics) }
                vms[observation.uuid] = VMEntry(slot: allocateSlot(), observation: observation, samples: ring)
                inventoryGeneration += 1
            }
        }
        let gone = vms.keys.filter { !seen.contains($0) }
        for uuid in gone { vms[uuid] = nil }
        if !gone.isEmpty { inventoryGeneration += 1 }
    }

    /// Slots are not reused while a VM holds them; the counter wraps after 65,536 VMs.
    private mutating func allocateSlot() -> UInt16 {
        let used = Set(vms.values.map(\.slot))
        while used.contains(nextSlot) { nextSlot &+= 1 }
        defer { nextSlot &+= 1 }
        return nextSlot
    }

    public func inventory(hostID: String) -> Inventory {
        Inventory(
            hostID: hostID,
            vms: vms.values.sorted { $0.slot < $1.slot }.map { entry in
                Inventory.Entry(
                    slot: entry.slot,
                    uuid: entry.observation.uuid,
                    name: entry.observation.name,
                    state: entry.observation.state,
                    virtualCPUs: entry.observation.virtualCPUs,
                    memoryKiB: entry.observation.memoryKiB
                )
            }
        )
    }

    /// The newest round as a report; VMs without two readings yet are left out rather than sent as zeros. Nil after
    /// an incomplete round: readings from an earlier round are never sent again as current.
    public func report(timestampMilliseconds: Int64) -> MonitoringReport? {
        guard newestRoundComplete, let hostRecord = host.last else { return nil }
        let samples = vms.values.sorted { $0.slot < $1.slot }.compactMap { entry -> MonitoringReport.VMSample? in
            guard let metrics = entry.observation.metrics else { return nil }
            return MonitoringReport.VMSample(
                slot: entry.slot,
                state: entry.observation.state,
                cpuCoresInUse: Float(metrics.cpuCoresInUse),
                memoryInUseKiB: UInt32(clamping: metrics.memoryInUseBytes / 1024),
                networkRxBytesPerSecond: Float(metrics.networkRxBytesPerSecond),
                networkTxBytesPerSecond: Float(metrics.networkTxBytesPerSecond),
                diskReadBytesPerSecond: Float(metrics.diskReadBytesPerSecond),
                diskWriteBytesPerSecond: Float(metrics.diskWriteBytesPerSecond)
            )
        }
        return MonitoringReport(timestampMilliseconds: timestampMilliseconds, host: hostRecord.sample, vms: samples)
    }

    public func statusVMs() -> [StatusReply.VM] {
        vms.values.sorted { $0.observation.name < $1.observation.name }.map { entry in
            StatusReply.VM(
                uuid: entry.observation.uuid,
                name: entry.observation.name,
                state: entry.observation.state,
                latest: entry.observation.metrics,
                nics: entry.observation.nics
            )
        }
    }

    /// A VM's ring by name or UUID text.
    public func samples(vm nameOrUUID: String, last: Int?) -> SamplesReply? {
        let uuid = WireUUID(nameOrUUID)
        guard
            let entry = vms.values.first(where: { $0.observation.name == nameOrUUID || $0.observation.uuid == uuid })
        else { return nil }
        return SamplesReply(
            vmName: entry.observation.name,
            uuid: entry.observation.uuid,
            capacity: UInt16(clamping: ringCapacity),
            samples: entry.samples.elements(newest: last)
        )
    }
}
