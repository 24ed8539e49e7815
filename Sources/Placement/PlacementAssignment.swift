/// One VM sent to one host.
public struct PlacementAssignment: Sendable, Hashable {
    public var vmID: String
    public var hostID: String
    /// Index of the host in the snapshot's `hosts`.
    public var hostIndex: Int
    /// The host is sleeping and must be woken before the VM can start there.
    public var wakesHost: Bool

    public init(vmID: String, hostID: String, hostIndex: Int, wakesHost: Bool) {
        self.vmID = vmID
        self.hostID = hostID
        self.hostIndex = hostIndex
        self.wakesHost = wakesHost
    }
}
