import Synchronization
import Wire

/// The manager link's state as agentctl sees it. Written from the reconnect loop's synchronous callback,
/// so it is a lock rather than an actor.
public final class ManagerLinkStatus: Sendable {
    private let state: Mutex<StatusReply.ManagerLink>

    public init(address: String?) {
        state = Mutex(
            StatusReply.ManagerLink(
                state: address == nil ? .notConfigured : .connecting,
                address: address ?? "",
                sinceMilliseconds: AgentMonitor.nowMilliseconds()
            )
        )
    }

    public var current: StatusReply.ManagerLink { state.withLock { $0 } }

    public func set(_ newState: StatusReply.ManagerLink.State) {
        state.withLock { link in
            guard link.state != newState else { return }
            link.state = newState
            link.sinceMilliseconds = AgentMonitor.nowMilliseconds()
        }
    }
}
