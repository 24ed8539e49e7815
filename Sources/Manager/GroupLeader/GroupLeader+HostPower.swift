import Energy
import Logging
import Wire

/// `torpor host wake|sleep`: an operator's order for one host. A sleep is refused for a host that runs or is
/// receiving a VM, has a command in flight, or that nothing could wake again; a wake goes through the host's
/// drivers like a wake for a plan, and answers once the agent has rejoined (or every driver has failed).
extension GroupLeader {
    public func handle(_ request: HostPowerRequest) async -> CommandResult {
        let hosts = await groupManager.hosts()
        guard let host = hosts.first(where: { $0.hostID == request.hostID }) else {
            return CommandResult(code: .notFound, message: "no host \(request.hostID)")
        }
        switch request.operation {
        case .wake:
            return await wake(host)
        case .sleep:
            return await sleep(host, action: request.action)
        }
    }

    private func wake(_ host: ManagedHost) async -> CommandResult {
        let id = host.hostID
        switch power[id]?.state {
        case .sleeping?, .waking?:
            break
        case .failed? where !host.connected:
            // An operator may retry a host whose wake failed: it is asleep as far as anyone knows.
            powerEvent(.wakeRetried, for: id)
        default:
            guard host.connected else {
                return CommandResult(code: .conflict, message: "\(id) is \(host.state) and was not put to sleep")
            }
            return CommandResult(code: .ok, message: "\(id) is already awake")
        }
        guard canWake(id) else {
            // Trying would only mark it FAILED: nothing can send the power-on.
            return CommandResult(
                code: .conflict,
                message: "\(id) has no wake driver configured (hosts.\(id).wake): power it on by hand, or configure one"
                    + " and restart the manager; `torpor host remove \(id)` retires it"
            )
        }
        logger.notice("operator wakes a host", metadata: [.host: "\(id)"])
        let started = ContinuousClock.now
        switch await ensureAwake(id) {
        case .success:
            let took = (ContinuousClock.now - started).components.seconds
            return CommandResult(code: .ok, message: "\(id) is awake (\(took) s)")
        case .failure(let failure):
            return CommandResult(code: .commandFailed, message: failure.description)
        }
    }

    private func sleep(_ host: ManagedHost, action requested: PowerCommand.Action?) async -> CommandResult {
        let id = host.hostID
        guard host.connected, host.state == .active, power[id]?.state ?? .active == .active else {
            return CommandResult(code: .conflict, message: "\(id) is not awake (\(host.state))")
        }
        guard canWake(id) else {
            return CommandResult(
                code: .conflict,
                message: "\(id) has no wake driver configured (hosts.\(id).wake): nothing could wake it again"
            )
        }
        // The VM check and the SLEEPING mark under the decisions lock: no plan claims the host in between.
        await lockDecisions()
        var locked = true
        defer { if locked { unlockDecisions() } }
        let vms: [StoredVM]
        do {
            vms = try await store.vms(onHost: id).filter {
                Self.occupying.contains($0.state) || $0.state == .starting
            }
        } catch {
            return CommandResult(code: .internalError, message: "cannot read the VMs of \(id): \(error)")
        }
        guard vms.isEmpty else {
            let names = vms.map(\.name).sorted().prefix(5).joined(separator: ", ")
            return CommandResult(
                code: .conflict,
                message:
                    "\(id) runs \(vms.count) VM\(vms.count == 1 ? "" : "s") (\(names)\(vms.count > 5 ? ", …" : ""))"
            )
        }
        // A guest that ignored a shutdown is still listed active by libvirt: the host is not idle.
        let listed = (await groupManager.inventory(of: id))?.vms.filter(\.state.isActive).map(\.name) ?? []
        guard listed.isEmpty else {
            return CommandResult(
                code: .conflict,
                message: "\(id) still runs \(listed.count) domain\(listed.count == 1 ? "" : "s") "
                    + "(\(listed.sorted().prefix(5).joined(separator: ", ")))"
            )
        }
        if let moving = migrations.hostsWithMigrations()[id] {
            return CommandResult(
                code: .conflict,
                message:
                    "\(id) has \(moving.incoming) migration(s) in and \(moving.outgoing) out; try again once they end"
            )
        }
        guard power[id]?.commandsInFlight ?? 0 == 0 else {
            return CommandResult(code: .busy, message: "\(id) has a command in flight; try again")
        }
        let supported = Self.actions(host.capabilities)
        let action = requested.map(PowerAction.init) ?? configuration.energy.policy.action
        guard supported.contains(action) else {
            let names = supported.sorted().map(\.configName).joined(separator: ", ")
            return CommandResult(
                code: .invalidArgument,
                message: "\(id) cannot \(action.configName) (it supports: \(names.isEmpty ? "none" : names))"
            )
        }
        // Marked before the next suspension point, like the energy saver's own power-downs.
        powerEvent(.powerDownOrdered, for: id)
        unlockDecisions()
        locked = false
        let result = await powerDown(id, action: action, reason: "operator")
        guard result.isOK || power[id]?.state == .sleeping else { return result }
        return CommandResult(code: .ok, message: "\(id) is going down (\(action.configName))")
    }
}

extension GroupLeader {
    /// Hosts that must keep their group manager for now (rebalancing, docs/ha.md): a migration in or out, or one
    /// just ended whose inventories are still settling; a power change or a command under way; not ACTIVE.
    public func hostsBusyForRebalancing(at now: ContinuousClock.Instant) -> Set<String> {
        var busy = Set<String>()
        for move in migrations.moves.values { busy.formUnion([move.source, move.destination]) }
        for settled in migrations.settling.values where now < settled.until { busy.formUnion(settled.hosts) }
        for (host, machine) in power where machine.state != .active || machine.commandsInFlight > 0 {
            busy.insert(host)
        }
        return busy
    }
}
