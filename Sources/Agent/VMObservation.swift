import Wire

/// What the domain collector saw of one VM in one round.
public struct VMObservation: Sendable, Hashable {
    public var uuid: WireUUID
    public var name: String
    public var state: VMState
    public var virtualCPUs: UInt16
    /// Configured memory, KiB.
    public var memoryKiB: UInt64
    /// Rates and usage; nil until the collector has two readings of this VM.
    public var metrics: VMMetrics?
    /// Per-interface cumulative counters and rates (rates 0 until two readings).
    public var nics: [StatusReply.NIC]

    public init(
        uuid: WireUUID,
        name: String,
        state: VMState,
        virtualCPUs: UInt16,
        memoryKiB: UInt64,
        metrics: VMMetrics?,
        nics: [StatusReply.NIC]
    ) {
        self.uuid = uuid
        self.name = name
        self.state = state
        self.virtualCPUs = virtualCPUs
        self.memoryKiB = memoryKiB
        self.metrics = metrics
        self.nics = nics
    }
}
