/// A VM no host could take, with the reason in words an operator can act on.
public struct UnplacedVM: Sendable, Hashable {
    public var vmID: String
    /// The dimension that ruled the VM out; nil when no dimension is to blame (no usable host, invalid demand).
    public var tightestDimension: ResourceDimension?
    /// E.g. "no host has 4 free cores; most free: host-2 with 2".
    public var reason: String

    public init(vmID: String, tightestDimension: ResourceDimension?, reason: String) {
        self.vmID = vmID
        self.tightestDimension = tightestDimension
        self.reason = reason
    }
}
