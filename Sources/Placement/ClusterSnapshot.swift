/// The cluster as placement sees it: a value, so a plan depends on nothing but its inputs and the same policies
/// run in the manager and in a trace-driven simulator.
public struct ClusterSnapshot: Sendable, Hashable {
    public var hosts: [HostSnapshot]
    /// The running VMs that relocation and consolidation may move (VM ids are unique). A host's `estimatedUse`
    /// that its VMs here do not account for, or a `vmIDs` entry missing here, stays where it is: such a host is
    /// never emptied. Initial placement does not read this.
    public var vms: [VMSnapshot]
    /// Hosts with a migration in or out, or being powered down: neither the source nor the destination of a
    /// relocation or consolidation move, whatever their state.
    public var busyHostIDs: Set<String>

    public init(hosts: [HostSnapshot], vms: [VMSnapshot] = [], busyHostIDs: Set<String> = []) {
        self.hosts = hosts
        self.vms = vms
        self.busyHostIDs = busyHostIDs
    }
}
