/// The answer of `HostFencer.fence(_:)`: only `.fenced` allows the host's VMs to be started elsewhere.
public enum FenceOutcome: Sendable, Equatable, CustomStringConvertible {
    /// `driver` confirmed the host is off, `took` after fencing began.
    case fenced(hostID: String, driver: String, took: Duration, confirmation: String)
    /// Every configured driver failed; `reason` names each driver tried and why it failed.
    case notFenced(hostID: String, reason: String)
    /// The host has no `fence` entry: nothing can confirm it is off.
    case noDriver(hostID: String)

    public var hostID: String {
        switch self {
        case .fenced(let hostID, _, _, _), .notFenced(let hostID, _), .noDriver(let hostID): hostID
        }
    }

    public var isFenced: Bool {
        if case .fenced = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .fenced(let hostID, let driver, let took, let confirmation):
            "\(hostID) fenced by \(driver) in \(Self.seconds(took)): \(confirmation)"
        case .notFenced(let hostID, let reason):
            "\(hostID) could not be fenced (\(reason)): its VMs are not restarted elsewhere"
        case .noDriver(let hostID):
            "no fencing driver configured for \(hostID) (hosts.\(hostID).fence): its VMs are not restarted elsewhere"
        }
    }

    /// "3.2s": tenths are enough for a power off that takes seconds.
    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let tenths = seconds * 10 + attoseconds / 100_000_000_000_000_000
        return "\(tenths / 10).\(tenths % 10)s"
    }
}
