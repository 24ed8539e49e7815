/// The cluster as placement sees it: a value, so a plan depends on nothing but its inputs and the same policies
/// run in the manager and in a trace-driven simulator.
public struct ClusterSnapshot: Sendable, Hashable {
    public var hosts: [HostSnapshot]

    public init(hosts: [HostSnapshot]) {
        self.hosts = hosts
    }
}
