import Wire

extension RemoteGroupManagers {
    /// Moves at most one host towards the spread the assignment policy deals (`HostAssignmentMachine
    /// .rebalancingMove`): a group manager that linked late, or came back after its hosts went to others, gets its
    /// share. Only a host that is ACTIVE, connected, with an inventory, no order on its way and not in `busy` (a
    /// migration in or out, a power change) is moved, fewest VMs first; only to a group manager linked for `settle`
    /// at least. The host's group manager forgets it and closes its agent's connection (HostOrder release); the
    /// agent asks again and is sent to the other, where it joins as after a group manager's loss, its VMs untouched.
    /// Until it joins, the host is an orphan: FAILED if it joins no group manager within the heartbeat timeout.
    /// Returns the move made.
    @discardableResult
    public func rebalance(
        busy: Set<String>,
        settle: Duration,
        at now: ContinuousClock.Instant
    ) async -> HostAssignmentMachine.Move? {
        guard released.isEmpty else { return nil }  // one move at a time
        let movable = known.values
            .filter { host in
                host.groupManagerID != nil && host.connected && host.state == .active && host.hasInventory
                    && ordersInFlight[host.description.hostID] == nil && !busy.contains(host.description.hostID)
            }
            .sorted {
                ($0.inventory?.vms.count ?? 0, $0.description.hostID) < (
                    $1.inventory?.vms.count ?? 0, $1.description.hostID
                )
            }
            .map(\.description.hostID)
        let destinations = Set(links.filter { now - $0.value.linkedAt >= settle }.keys)
        guard let move = machine.rebalancingMove(movable: movable, destinations: destinations) else { return nil }
        _ = machine.handle(.hostMoved(hostID: move.hostID, to: move.to))
        released[move.hostID] = move.from
        releasedBy[move.hostID] = move.from
        let result = await order(.release, to: move.hostID, timeout: commandTimeout)
        guard result.isOK else {
            // Still with its group manager: the assignment goes back, and a later round may try again. One whose
            // agent joined the other meanwhile (the answer lost, the release done) stays there.
            released[move.hostID] = nil
            if known[move.hostID]?.groupManagerID == move.from {
                releasedBy[move.hostID] = nil  // its group manager's reports count for it again
                _ = machine.handle(.hostReported(hostID: move.hostID, groupManagerID: move.from))
            }
            logger.warning(
                "could not move a host to balance the group managers",
                metadata: [
                    .host: "\(move.hostID)", .from: "\(move.from)", .to: "\(move.to)",
                    .error: "\(result.code): \(result.message)",
                ]
            )
            return nil
        }
        // An orphan until its agent joins the other (`apply(_:from:at:)` on its Joined event).
        if known[move.hostID]?.groupManagerID == move.from {
            known[move.hostID]?.groupManagerID = nil
            known[move.hostID]?.connected = false
            known[move.hostID]?.orphanedAt = .now
        }
        await record(move.hostID, with: move.to)
        logger.notice(
            "moved a host to balance the group managers",
            metadata: [
                .host: "\(move.hostID)", .from: "\(move.from)", .to: "\(move.to)",
                .hosts:
                    "\(machine.groupManagers.map { "\($0.id)=\(machine.hostCount(of: $0.id))" }.joined(separator: ","))",
            ]
        )
        return move
    }
}
