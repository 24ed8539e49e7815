/// One host at the moment a snapshot was taken.
public struct HostSnapshot: Sendable, Hashable {
    public var id: String
    public var capacity: ResourceVector
    public var state: HostState
    /// Sum of the estimated demand of the VMs it runs (or is receiving).
    public var estimatedUse: ResourceVector
    public var vmIDs: [String]
    /// How the host's power grows with CPU load, for power-aware placement; nil: the policy's default model.
    public var powerModel: HostPowerModel?

    public init(
        id: String,
        capacity: ResourceVector,
        state: HostState = .active,
        estimatedUse: ResourceVector = .zero,
        vmIDs: [String] = [],
        powerModel: HostPowerModel? = nil
    ) {
        self.id = id
        self.capacity = capacity
        self.state = state
        self.estimatedUse = estimatedUse
        self.vmIDs = vmIDs
        self.powerModel = powerModel
    }
}
