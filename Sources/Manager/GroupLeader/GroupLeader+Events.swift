import Foundation

/// Publishing Snooze's notifications where the leader does what they report (docs/snooze-api.md, "Events"): each
/// is built here from the store, once, and the bus hands it to every subscriber.
extension GroupLeader {
    var describer: SnoozeDescriber {
        SnoozeDescriber(
            managerID: configuration.managerID,
            wirePort: HostPortText(configuration.listen, requiresPort: true)?.port ?? 0,
            hostWake: configuration.hostWake,
            migrationTimeoutSeconds: Int(configuration.migration.timeout.components.seconds)
        )
    }

    /// Whether an event built now reaches anyone: the bus keeps no history, so one without subscribers is lost.
    var isAnyoneListening: Bool { events.subscriberCount > 0 }

    var eventAddress: Snooze.NetworkAddress { SnoozeDescriber.eventAddress(configuration) }

    /// GL_JOIN then GM_JOIN: this manager leads and is its own (only) group manager from the start.
    func announceLeadership() async {
        let base = eventAddress
        publishSystem(.groupLeaderJoined, message: describer.groupLeaderDescription(base: base))
        guard let view = try? await view() else { return }
        publishSystem(.groupManagerJoined, message: describer.groupManager(view, base: base))
    }

    /// LC_JOIN with the host's LocalControllerDescription.
    func announceJoined(_ hostID: String) async {
        // Only for someone listening, and from this host's part of the state: a full view per join took 15,000
        // joining agents past 10 minutes.
        guard isAnyoneListening else { return }
        guard let view = try? await view(ofHost: hostID), let host = view.hosts.first else { return }
        publishSystem(.localControllerJoined, message: describer.localController(host, in: view, base: eventAddress))
    }

    /// LC_FAILED with the host's id (Snooze's LocalControllerId).
    func announceFailed(_ hostID: String) {
        publishSystem(.localControllerFailed, message: hostID)
    }

    /// One management event per VM: PENDING as a task takes its VMs.
    func announcePending(_ task: StoredTask, vms: [StoredVM]) async {
        guard isAnyoneListening, let action = SnoozeEventRules.action(ofTaskKind: task.kind) else { return }
        for vm in vms { await publishManagement(action, .pending, vm: vm) }
    }

    /// One management event per VM of a finished task: PROCESSED for each done, ERROR for the others. A VM the task
    /// removed is described as it was when the task took it.
    func announceFinished(_ task: StoredTask, vms: [StoredVM]) async {
        guard isAnyoneListening, let action = SnoozeEventRules.action(ofTaskKind: task.kind) else { return }
        for outcome in task.outcomes {
            let current = try? await store.vm(named: outcome.vm)
            guard let vm = current ?? vms.first(where: { $0.name == outcome.vm }) else { continue }
            await publishManagement(
                action,
                SnoozeEventRules.status(ofFinished: outcome.state),
                vm: vm,
                errorCode: .of(outcome, taskKind: task.kind)
            )
        }
    }

    func publishManagement(
        _ action: SnoozeEventRules.Action,
        _ status: ManagerEvent.Status,
        vm: StoredVM,
        errorCode: SnoozeErrorCode? = nil
    ) async {
        guard isAnyoneListening else { return }
        let lease = try? await store.lease(vmID: vm.id)
        let estimate =
            SnoozeDescriber.placedStates.contains(vm.state)
            ? await groupManager.estimate(of: vm.id, requested: vm.requested) : nil
        let meta = describer.metaData(
            GroupLeaderView.VM(record: vm, lease: lease, estimate: estimate),
            base: eventAddress,
            errorCode: errorCode
        )
        guard let message = Self.eventJSON(meta) else { return }
        events.publish(
            ManagerEvent(
                exchange: .management,
                routingKey: SnoozeEventRules.routingKey(
                    action,
                    managerID: configuration.managerID,
                    hostID: vm.hostID,
                    vm: vm.name
                ),
                eventType: action.rawValue,
                status: status,
                message: message
            )
        )
    }

    func publishSystem(_ event: SnoozeEventRules.SystemEvent, message: some Encodable) {
        guard let json = Self.eventJSON(message) else { return }
        events.publish(
            ManagerEvent(
                exchange: .system,
                routingKey: SnoozeEventRules.routingKey(event, managerID: configuration.managerID),
                eventType: event.rawValue,
                message: json
            )
        )
    }

    static func eventJSON(_ value: some Encodable) -> Data? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try? encoder.encode(value)
    }
}

extension GroupLeader: ConsolidationAnnouncing {
    /// LC_ANOMALY with the host's LocalControllerDescription, as Snooze's group manager sent it when a host's
    /// monitoring crossed its thresholds (which way is in the manager's log, not in Snooze's message).
    public func announceAnomaly(hostID: String, _ anomaly: ConsolidationLoopMachine.Anomaly) async {
        guard isAnyoneListening else { return }
        guard let view = try? await view(), let host = view.hosts.first(where: { $0.hostID == hostID }) else { return }
        publishSystem(.localControllerAnomaly, message: describer.localController(host, in: view, base: eventAddress))
    }

    /// RECONFIGURATION with Snooze's ReconfigurationPlan: when a round starts, its plan; when it ends, what it did.
    public func announceReconfiguration(_ round: ReconfigurationRound) async {
        publishSystem(
            .reconfiguration,
            message: Snooze.ReconfigurationPlan(
                mapping: round.mapping,
                numberOfMigrations: round.migrations,
                numberOfReleasedNodes: round.releasedHosts.count
            )
        )
    }
}
