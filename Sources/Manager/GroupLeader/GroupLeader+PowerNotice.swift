import Logging
import Wire

/// A host's agent announced that the host goes down (PowerNotice), whoever ordered it: the energy saver, an operator
/// with `agentctl power`, or the system's own sleep. The leader then tracks it as asleep since now, so plans wake it
/// through its drivers instead of counting on its capacity, and the energy policy counts it as asleep.
extension GroupLeader {
    public func hostGoingDown(_ hostID: String, action: PowerCommand.Action, reason: String) async {
        let previous = power[hostID]?.state
        var metadata: [ManagerMetadataKey: Logger.MetadataValue] = [
            .host: "\(hostID)", .action: "\(action)", .reason: "\(reason)",
        ]
        powerEvent(.goingDownAnnounced, for: hostID)
        await storePowerState(hostID)
        switch previous {
        case .sleeping?:
            // The energy saver's own order: recorded when it decided, keep that time.
            logger.info("host going down as ordered", metadata: metadata)
        case .waking?:
            // The wake in progress waits for the host to be down before it powers it on, and owns the state.
            logger.notice("host going down while being woken", metadata: metadata)
        default:
            metadata[.previousState] = "\(previous.map { "\($0)" } ?? "active")"
            logger.notice("host went to sleep on its own; tracked as asleep", metadata: metadata)
        }
    }

    /// The host stayed up (its power action failed): awake again, unless a wake in progress owns its state.
    public func hostResumed(_ hostID: String) async {
        guard power[hostID]?.state == .sleeping else { return }
        powerEvent(.resumedAnnounced, for: hostID)
        logger.notice("host stayed up; tracked as awake", metadata: [.host: "\(hostID)"])
    }
}
