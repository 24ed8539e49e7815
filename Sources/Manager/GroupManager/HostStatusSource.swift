import Wire

/// What the leader's services read about hosts besides the `GroupManagerEndpoint`: `agentctl manager` and `torpor
/// hosts` rows, the VMs' monitoring for relocation and consolidation, which hosts are up for the power monitor. The
/// registry in this process, or the group managers' reports (`RemoteGroupManagers`).
public protocol HostStatusSource: Sendable {
    /// Every host as `agentctl manager` shows it, by host id, ages measured at `now`.
    func statusHosts(at now: ContinuousClock.Instant) async -> [ManagerStatusReply.Host]
    /// Every VM of every host's latest inventory with its newest samples (`HostRegistry.demands()`).
    func demands() async -> [VMDemand]
    /// The hosts whose agents are connected.
    func connectedHostIDs() async -> [String]
}

extension HostRegistry: HostStatusSource {
    public func connectedHostIDs() -> [String] {
        all().filter(\.connected).map(\.hostID)
    }
}
