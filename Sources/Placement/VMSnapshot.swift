/// One running VM as relocation and consolidation see it: where it is, what it asks for and uses, and what moving
/// it would take.
public struct VMSnapshot: Sendable, Hashable {
    public var id: String
    /// The host it runs on, as in `HostSnapshot.id`.
    public var hostID: String
    public var requested: ResourceVector
    /// What it is estimated to use; plans charge this to the hosts.
    public var estimated: ResourceVector
    /// Guest memory a live migration has to copy (pre-copy sends all of it once).
    public var memoryToCopyBytes: Double
    /// How fast the guest dirties memory that pre-copy has already sent; 0 when unknown.
    public var memoryDirtyRateBytesPerSecond: Double

    /// Without an estimate the VM is taken at its request; without a memory size, its requested memory is copied.
    public init(
        id: String,
        hostID: String,
        requested: ResourceVector,
        estimated: ResourceVector? = nil,
        memoryToCopyBytes: Double? = nil,
        memoryDirtyRateBytesPerSecond: Double = 0
    ) {
        self.id = id
        self.hostID = hostID
        self.requested = requested
        self.estimated = estimated ?? requested
        self.memoryToCopyBytes = memoryToCopyBytes ?? requested.memoryBytes
        self.memoryDirtyRateBytesPerSecond = memoryDirtyRateBytesPerSecond
    }

    /// The VM as a placement request, for handing it to a `PlacementPolicy`.
    public var request: VMRequest {
        VMRequest(id: id, requested: requested, estimated: estimated)
    }
}
