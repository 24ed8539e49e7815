import Energy

/// One host's power as the group leader tracks it beyond the group manager's view: awake, asleep, being woken, or
/// failed to wake; since when it has had no VM; its commands in flight. Events in, actions out, no I/O: the leader
/// runs the actions (registry marks, log lines) and feeds back what happened.
struct HostPowerMachine: Sendable, Equatable {
    var state: EnergyHost.PowerState
    var since: ContinuousClock.Instant
    var wokeAt: ContinuousClock.Instant?
    var sleptAt: ContinuousClock.Instant?
    /// While waking: "waking host-3 via IPMI" (the elapsed time is added when shown).
    var wakeActivity: String?
    /// Since when the host has had no VM, running or incoming; nil while it has one.
    var idleSince: ContinuousClock.Instant?
    /// VM commands sent to the host and not yet answered.
    var commandsInFlight = 0
    /// The agent announced it is going down (PowerNotice) since the last power-down order: proof that the order
    /// arrived even when its answer did not.
    var goingDownAnnounced = false

    init(state: EnergyHost.PowerState = .active, since: ContinuousClock.Instant) {
        self.state = state
        self.since = since
    }

    /// How a PowerCommand ended, as the group manager reported it.
    enum PowerCommandOutcome: Equatable, Sendable {
        /// The agent accepted the order.
        case accepted
        /// The agent refused it or its action failed; the message says why.
        case refused(String)
        /// The order may never have reached the agent (not connected, connection lost, no answer).
        case notDelivered(String)
    }

    enum Event: Equatable, Sendable {
        /// The energy saver or an operator decided to power the host down; the command is sent next.
        case powerDownOrdered
        case powerCommandEnded(PowerCommandOutcome)
        /// The agent's PowerNotice: going down, whoever ordered it.
        case goingDownAnnounced
        /// The agent's PowerNotice: its power action failed, the host stays up.
        case resumedAnnounced
        /// The agent said hello (first join, rejoin, or return from sleep).
        case joined
        /// A wake begins: first waiting for the host to be down.
        case wakeStarted(activity: String)
        case wakeProgressed(activity: String)
        case woke
        case wakeFailed
        /// An operator asks to wake a host whose wake failed and whose agent is gone: asleep as far as anyone knows.
        case wakeRetried
        case commandStarted
        case commandEnded
        /// How many VMs the host has now (running, incoming, or active in its latest inventory).
        case occupied(vms: Int)
    }

    enum Action: Equatable, Sendable {
        case none
        /// Set the host's state in the group manager's registry.
        case markInRegistry(HostRecordState)
        /// The power-down did not happen: the host is awake again; log why, mark it ACTIVE in the registry.
        case stayedUp(reason: String)
    }

    /// `HostRecord.State`, named here so the machine's actions compare without the registry's record type.
    typealias HostRecordState = HostRecord.State

    mutating func handle(_ event: Event, at now: ContinuousClock.Instant) -> Action {
        switch event {
        case .powerDownOrdered:
            state = .sleeping
            since = now
            sleptAt = now
            wakeActivity = nil
            goingDownAnnounced = false
            return .markInRegistry(.sleeping)
        case .powerCommandEnded(let outcome):
            guard state == .sleeping else { return .none }
            switch outcome {
            case .accepted:
                return .none
            case .notDelivered where goingDownAnnounced:
                // The agent said it was going down: the order arrived, the answer was lost with the host.
                return .none
            case .refused(let reason), .notDelivered(let reason):
                awake(at: now, woke: false)
                return .stayedUp(reason: reason)
            }
        case .goingDownAnnounced:
            switch state {
            case .sleeping:
                // The energy saver's own order, recorded when it decided: keep that time.
                goingDownAnnounced = true
                return .none
            case .waking:
                // The wake in progress waits for the host to be down before it powers it on, and owns the state.
                return .none
            case .active, .failed:
                state = .sleeping
                since = now
                sleptAt = now
                goingDownAnnounced = true
                return .none
            }
        case .resumedAnnounced:
            guard state == .sleeping else { return .none }
            awake(at: now, woke: false)
            return .none
        case .joined:
            // A wake in progress finishes with `woke`; an unexpected return (operator, BMC) is recorded here.
            guard state == .sleeping || state == .failed else { return .none }
            awake(at: now, woke: true)
            return .none
        case .wakeStarted(let activity):
            state = .waking
            since = now
            wakeActivity = activity
            return .markInRegistry(.waking)
        case .wakeProgressed(let activity):
            guard state == .waking else { return .none }
            wakeActivity = activity
            return .none
        case .woke:
            awake(at: now, woke: true)
            return .none
        case .wakeFailed:
            state = .failed
            since = now
            wakeActivity = nil
            return .markInRegistry(.failed)
        case .wakeRetried:
            guard state == .failed else { return .none }
            sleptAt = since
            state = .sleeping
            since = now
            return .none
        case .commandStarted:
            commandsInFlight += 1
            return .none
        case .commandEnded:
            commandsInFlight = max(0, commandsInFlight - 1)
            return .none
        case .occupied(let vms):
            if vms > 0 {
                idleSince = nil
            } else if idleSince == nil {
                idleSince = now
            }
            return .none
        }
    }

    private mutating func awake(at now: ContinuousClock.Instant, woke: Bool) {
        state = .active
        since = now
        if woke { wokeAt = now }
        wakeActivity = nil
        idleSince = now
        goingDownAnnounced = false
    }

    /// The host as the energy policy sees it. `vmCount` counts VMs the store places there and VMs its latest
    /// inventory lists as active, whichever is larger: a host whose libvirt still runs a domain is never idle.
    func energyHost(
        id: String,
        registryState: HostRecord.State,
        connected: Bool,
        vmCount: Int,
        incomingVMs: Int,
        supportedActions: Set<PowerAction>,
        canWake: Bool = true,
        capacityCores: Double,
        usedCores: Double,
        origin: ContinuousClock.Instant
    ) -> EnergyHost {
        let powerState: EnergyHost.PowerState =
            switch (state, registryState, connected) {
            case (.sleeping, _, _): .sleeping
            case (.waking, _, _): .waking
            case (_, .active, true): .active
            default: .failed
            }
        return EnergyHost(
            id: id,
            state: powerState,
            vmCount: vmCount,
            incomingVMs: incomingVMs,
            commandsInFlight: commandsInFlight,
            idleSince: vmCount + incomingVMs > 0 ? nil : idleSince.map { $0 - origin },
            wokeAt: wokeAt.map { $0 - origin },
            sleptAt: sleptAt.map { $0 - origin },
            supportedActions: supportedActions,
            canWake: canWake,
            capacityCores: capacityCores,
            usedCores: usedCores
        )
    }
}
