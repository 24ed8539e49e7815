/// How fencing one host ended.
public enum HostFencingOutcome: Sendable, Equatable {
    /// Powered off and confirmed off: the host's VMs are not running and may be started elsewhere.
    case fenced
    /// A driver was tried and the host is not known to be off; the reason names what failed.
    case notFenced(String)
    /// No fencing driver is configured for the host; the reason says so.
    case noDriver(String)
}

/// Powers a host off through a path that does not depend on the host itself (its BMC) and confirms that it is off,
/// so that its VMs can be started elsewhere without two copies. `HostFencer` (Sources/Manager/Fencing) conforms;
/// the group leader is given one, or none.
public protocol HostFencing: Sendable {
    func fence(host hostID: String) async -> HostFencingOutcome
}

extension HostFencer: HostFencing {
    public func fence(host hostID: String) async -> HostFencingOutcome {
        let outcome = await fence(hostID)
        switch outcome {
        case .fenced: return .fenced
        case .notFenced: return .notFenced("\(outcome)")
        case .noDriver: return .noDriver("\(outcome)")
        }
    }
}
