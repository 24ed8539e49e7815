/// Power and health state of a host as placement sees it.
public enum HostState: Sendable, Hashable, CaseIterable {
    /// Running and accepting VMs.
    case active
    /// Powered down; usable only after every awake host, and using it means waking it.
    case sleeping
    /// A wake is already under way: capacity that is coming, preferred to waking another host.
    case waking
    /// Never used.
    case failed
}
