import Logging
import Transport
import Wire

/// In a group manager process: what its agents do, sent up the link to the group leader as GroupManagerEvent
/// (the `GroupManagerObserver` the leader would be in one process). Without a link (the leader is being looked
/// for) events are dropped: the next link starts with every host's hello and inventory again.
///
/// Events are queued in order, one queue per link, and a task sends them: an agent's session never waits for the
/// leader. It did (`bench/run ingest --group-manager`): a leader busy taking in 10,000 new hosts reads its links
/// slowly, and the sessions waiting behind it stopped reading their agents, whose silence made them FAILED. A leader so far
/// behind that `maximumQueued` events wait loses the link; the next one replays every host.
actor LeaderRelay: GroupManagerObserver {
    private struct Link {
        let connection: WireConnection
        let queue: AsyncStream<GroupManagerEvent>.Continuation
        let sender: Task<Void, Never>
    }

    private var link: Link?
    let maximumQueued: Int
    let logger: Logger

    init(maximumQueued: Int = 200_000, logger: Logger) {
        self.maximumQueued = maximumQueued
        self.logger = logger
    }

    func attach(_ connection: WireConnection) {
        if let link { end(link) }
        let (events, queue) = AsyncStream.makeStream(
            of: GroupManagerEvent.self,
            bufferingPolicy: .bufferingOldest(maximumQueued)
        )
        let logger = logger
        let sender = Task.detached {
            for await event in events {
                do {
                    try await connection.send(.groupManagerEvent(event))
                } catch {
                    logger.notice(
                        "events not relayed to the group leader: the link is down",
                        metadata: [.host: "\(event.hostID)", .error: "\(error)"]
                    )
                    return
                }
            }
        }
        link = Link(connection: connection, queue: queue, sender: sender)
    }

    func detach(_ connection: WireConnection) {
        guard let link, link.connection === connection else { return }
        end(link)
        self.link = nil
    }

    private func end(_ link: Link) {
        link.queue.finish()
        link.sender.cancel()
    }

    /// Queued behind the events before it, so one host's events reach the leader in the order they happened.
    func send(_ event: GroupManagerEvent) async {
        guard let link else { return }
        guard case .dropped = link.queue.yield(event) else { return }
        logger.error(
            "the group leader is too far behind: closing the link, the next one replays every host",
            metadata: [.host: "\(event.hostID)", .limit: "\(maximumQueued)"]
        )
        end(link)
        self.link = nil
        await link.connection.close()
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
