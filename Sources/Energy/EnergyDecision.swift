/// What the policy decided for one host, always with a reason an operator can read.
public struct EnergyDecision: Sendable, Hashable, CustomStringConvertible {
    public enum Action: Sendable, Hashable {
        case powerDown(PowerAction)
        /// Refill the reserve (capacity demanded by placement wakes hosts without asking the policy).
        case wake
        case none
    }

    public var hostID: String
    public var action: Action
    public var reason: String

    public init(hostID: String, action: Action, reason: String) {
        self.hostID = hostID
        self.action = action
        self.reason = reason
    }

    public var description: String {
        switch action {
        case .powerDown(let power): "\(hostID): \(power) — \(reason)"
        case .wake: "\(hostID): wake — \(reason)"
        case .none: "\(hostID): stays — \(reason)"
        }
    }
}
