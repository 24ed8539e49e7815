/// Powers a host off through a path that does not depend on the host itself (its BMC) and confirms that it is off,
/// so that its VMs can be started elsewhere without two copies. `HostFencer` (Sources/Manager/Fencing) conforms;
/// the group leader is given one, or none. Only `FenceOutcome.fenced` allows a restart elsewhere.
public protocol HostFencing: Sendable {
    func fence(_ hostID: String) async -> FenceOutcome
}

extension HostFencer: HostFencing {}
