import Logging
import Transport
import Wire

/// In a group manager process: what its agents do, sent up the link to the group leader as GroupManagerEvent
/// (the `GroupManagerObserver` the leader would be in one process). Without a link (the leader is being looked
/// for) events are dropped: the next link starts with every host's hello and inventory again.
actor LeaderRelay: GroupManagerObserver {
    private var connection: WireConnection?
    let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    func attach(_ connection: WireConnection) {
        self.connection = connection
    }

    func detach(_ connection: WireConnection) {
        if self.connection === connection { self.connection = nil }
    }

    /// Sent before the caller goes on, so one host's events reach the leader in the order they happened.
    func send(_ event: GroupManagerEvent) async {
        guard let connection else { return }
        do {
            try await connection.send(.groupManagerEvent(event))
        } catch {
            logger.notice(
                "event not relayed to the group leader: the link is down",
                metadata: [.host: "\(event.hostID)", .error: "\(error)"]
            )
        }
    }

    func hostJoined(_ description: AgentDescription) async {
        await send(GroupManagerEvent(hostID: description.hostID, event: .joined(description)))
    }

    func inventoryReceived(_ inventory: Inventory, from hostID: String) async {
        await send(GroupManagerEvent(hostID: hostID, event: .inventory(inventory)))
    }

    func hostsFailed(_ hosts: [HostRecord]) async {
        for host in hosts {
            await send(
                GroupManagerEvent(
                    hostID: host.hostID,
                    event: .failed(host.description, lastInventory: host.inventory)
                )
            )
        }
    }

    func hostGoingDown(_ hostID: String, action: PowerCommand.Action, reason: String) async {
        await send(GroupManagerEvent(hostID: hostID, event: .goingDown(action: action, reason: reason)))
    }

    func hostResumed(_ hostID: String) async {
        await send(GroupManagerEvent(hostID: hostID, event: .resumed))
    }

    func migrationProgress(_ progress: MigrationProgress, from hostID: String) async {
        await send(GroupManagerEvent(hostID: hostID, event: .migrationProgress(progress)))
    }
}
