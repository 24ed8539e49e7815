import Energy
import Foundation
import Logging
import Placement
import Wire

/// The energy saver and waking. Power-downs are decided by `EnergyPolicy` on a snapshot taken under the decisions
/// lock, and the host is marked SLEEPING before the lock is released, so no plan can pick a host that is going down.
/// Power-downs and wakes then run as the leader's background work: an evaluation never waits for them, so the next
/// one happens on time while a wake takes its `wakeup_time`. A host needed by a plan is woken through its drivers in
/// order, each given `wakeupTime` for the agent to rejoin; while that happens the leader keeps serving every other
/// request.
extension GroupLeader {
    /// One evaluation of the energy policy; the actions it decides run in the background. Called every
    /// `evaluation_interval`.
    public func evaluateEnergy() async {
        guard configuration.energy.enabled else { return }
        await lockDecisions()
        let hosts = await groupManager.hosts()
        let now = ContinuousClock.now
        let energyHosts: [EnergyHost]
        do {
            energyHosts = try await self.energyHosts(hosts, at: now)
        } catch {
            unlockDecisions()
            logger.error("energy saver cannot read the VMs", metadata: [.error: "\(error)"])
            return
        }
        let policy = EnergyPolicy(configuration: configuration.energy.policy)
        let (decisions, next) = policy.evaluate(energyHosts, at: now - origin, state: energyState)
        energyState = next
        for decision in decisions {
            switch decision.action {
            case .powerDown(let action):
                // Marked before the lock is released: from here on no plan can choose the host.
                _ = powerEvent(.powerDownOrdered, for: decision.hostID, at: now)
                enqueue.yield(.powerDown(decision.hostID, action, reason: decision.reason))
            case .wake:
                logger.notice(
                    "waking a host for the reserve",
                    metadata: [.host: "\(decision.hostID)", .reason: "\(decision.reason)"]
                )
                enqueue.yield(.wake(decision.hostID))
            case .none:
                break
            }
        }
        unlockDecisions()
    }

    /// Each host as the policy sees it. A host counts the VMs the store places there or its latest inventory lists
    /// as active, whichever is more: a guest that ignored a shutdown keeps its host awake.
    func energyHosts(_ hosts: [ManagedHost], at now: ContinuousClock.Instant) async throws -> [EnergyHost] {
        let vms = try await store.vms()
        var result: [EnergyHost] = []
        // A cordoned host is out of service: the saver neither puts it to sleep nor wakes it, nor counts it in the
        // reserve.
        for host in hosts where cordons[host.hostID] == nil {
            let onHost = vms.filter { $0.hostID == host.hostID }
            let stored = onHost.filter { Self.occupying.contains($0.state) }.count
            // A migration in or out keeps both hosts awake, waiting ones included.
            let moving = migrations.hostsWithMigrations()[host.hostID].map { $0.incoming + $0.outgoing } ?? 0
            let incoming = onHost.filter { $0.state == .starting }.count + moving
            let listed = (await groupManager.inventory(of: host.hostID))?.vms.filter(\.state.isActive).count ?? 0
            let running = max(stored, listed)
            _ = powerEvent(.occupied(vms: running + incoming), for: host.hostID, at: now)
            let wakeable = canWake(host.hostID)
            let machine = power[host.hostID] ?? HostPowerMachine(since: now)
            result.append(
                machine.energyHost(
                    id: host.hostID,
                    registryState: host.state,
                    // A host whose libvirtd does not answer counts as FAILED: never put to sleep (its VMs cannot be
                    // checked), and no room in the reserve.
                    connected: host.connected && host.hypervisorProblem == nil,
                    vmCount: running,
                    incomingVMs: incoming,
                    // A host nobody can wake is never put to sleep.
                    supportedActions: wakeable ? Self.actions(host.capabilities) : [],
                    canWake: wakeable,
                    capacityCores: Double(host.capacity.cores),
                    usedCores: onHost.filter { $0.state == .running }.reduce(0) { $0 + Double($1.virtualCPUs) },
                    origin: origin
                )
            )
        }
        return result
    }

    /// VM states that keep a host busy: the guest is (or may be) running there.
    static let occupying: Set<StoredVM.State> = [.running, .suspended, .unreachable, .shuttingDown, .duplicated]

    static func actions(_ capabilities: AgentCapabilities) -> Set<PowerAction> {
        var actions: Set<PowerAction> = []
        if capabilities.contains(.suspendToRam) { actions.insert(.suspendToRam) }
        if capabilities.contains(.suspendToDisk) { actions.insert(.suspendToDisk) }
        if capabilities.contains(.suspendToBoth) { actions.insert(.suspendToBoth) }
        if capabilities.contains(.shutdown) { actions.insert(.shutdown) }
        return actions
    }

    /// Feeds one event to the host's power machine (created awake on first use) and returns its action, not yet
    /// run.
    @discardableResult
    func powerEvent(
        _ event: HostPowerMachine.Event,
        for host: String,
        at now: ContinuousClock.Instant = .now
    ) -> HostPowerMachine.Action {
        var machine = power[host] ?? HostPowerMachine(since: now)
        let action = machine.handle(event, at: now)
        power[host] = machine
        let stored = Self.storedState(machine.state)
        if stored != storedPowerStates[host] ?? .active {
            storedPowerStates[host] = stored
            enqueue.yield(.storePowerState(host))
        }
        return action
    }

    /// How a power state is kept in the store: a host being woken is still asleep until its agent rejoins.
    static func storedState(_ state: EnergyHost.PowerState) -> HostRecord.State {
        switch state {
        case .active: .active
        case .sleeping, .waking: .sleeping
        case .failed: .failed
        }
    }

    /// Writes the host's power state as it is now; writes queued for earlier changes write the same, so their
    /// order does not matter.
    func storePowerState(_ host: String) async {
        let state = storedPowerStates[host] ?? .active
        do {
            try await store.setHostState(state, ofHost: host, at: wallClock())
        } catch {
            logger.error(
                "cannot record a host's power state",
                metadata: [.host: "\(host)", .state: "\(state.rawValue)", .error: "\(error)"]
            )
        }
    }

    /// Whether a wake driver is configured for the host (`hosts.ID.wake`): without one nothing can wake it.
    func canWake(_ host: String) -> Bool {
        !(configuration.hostWake[host]?.drivers.isEmpty ?? true)
    }

    /// Hosts the store records asleep (this manager, or the one before it, put them to sleep, and none has
    /// rejoined since) are known asleep again: listed, planned on as sleeping hosts and woken through their
    /// drivers when needed, instead of forgotten until someone powers them on. A host that rejoined meanwhile is
    /// left as it is. One with no wake driver configured (its `hosts.ID.wake` taken out of manager.yaml while it
    /// slept) is listed SLEEPING all the same, so the operator sees it, but nothing plans on it or tries to wake
    /// it; `torpor host remove` retires it, or a wake driver configured again brings it back into use.
    func restoreSleepingHosts() async {
        let stored: [StoredHost]
        do {
            stored = try await store.hosts()
        } catch {
            logger.error("cannot read the hosts asleep before the start", metadata: [.error: "\(error)"])
            return
        }
        for host in stored where host.state == .sleeping || host.state == .waking {
            guard await trackAsleep(host) else { continue }
            if canWake(host.id) {
                logger.notice("host asleep since before the start: tracked as asleep", metadata: [.host: "\(host.id)"])
            } else {
                logger.warning(
                    "host asleep since before the start has no wake driver configured: listed SLEEPING, never woken",
                    metadata: [.host: "\(host.id)"]
                )
            }
        }
    }

    /// Tracks a host nobody has heard from since the start as asleep since it was last seen, with what its agent
    /// last said of it; false when the group manager knows it already (it rejoined) or its power is tracked.
    func trackAsleep(_ host: StoredHost) async -> Bool {
        let description = agentDescription(of: host)
        // Asleep since it was last seen: the store's time of its going down.
        let since = instant(of: host.lastSeen)
        guard power[host.id] == nil, await groupManager.restoreAsleep(description, since: since),
            await groupManager.host(host.id)?.connected == false
        else { return false }
        var machine = HostPowerMachine(state: .sleeping, since: since)
        machine.sleptAt = since
        power[host.id] = machine
        storedPowerStates[host.id] = .sleeping
        return true
    }

    /// A wall-clock time of the store as an instant of the monotonic clock (not later than now).
    func instant(of date: Date) -> ContinuousClock.Instant {
        ContinuousClock.now - .seconds(max(0, wallClock().timeIntervalSince(date)))
    }

    /// What the host's agent last said of it, as the store keeps it.
    func agentDescription(of host: StoredHost) -> AgentDescription {
        AgentDescription(
            hostID: host.id,
            hostname: host.hostname,
            capabilities: AgentCapabilities(rawValue: UInt32(clamping: host.capabilities)),
            capacity: HostCapacity(
                cores: UInt16(clamping: host.cores),
                memoryBytes: UInt64(clamping: host.memoryBytes),
                nicRxBytesPerSecond: UInt64(clamping: host.nicRxBytesPerSecond),
                nicTxBytesPerSecond: UInt64(clamping: host.nicTxBytesPerSecond)
            ),
            wake: WakeSettings(),
            listenAddress: "",
            migrationURI: migrationURIs[host.id] ?? ""
        )
    }

    /// Once the rejoin window has passed: hosts the store records ACTIVE whose agents have not come back, and whose
    /// BMC reports chassis power off, are off, not lost: tracked asleep like `restoreSleepingHosts` (and recorded
    /// so), so plans wake them through their drivers. A host put down by hand while no manager ran, one whose
    /// SLEEPING write was lost in a crash, or one put to sleep by a manager from before power states were stored.
    /// A BMC that reports power on, or does not answer, leaves the host as it is.
    func trackPoweredOffHosts() async {
        try? await Task.sleep(until: rejoinWindow.deadline, clock: .continuous)
        guard let stored = try? await store.hosts() else { return }
        var missing: [(StoredHost, HostWakeConfiguration.BMCAccess)] = []
        for host in stored where host.state == .active && power[host.id] == nil {
            guard let wake = configuration.hostWake[host.id], !wake.drivers.isEmpty, let bmc = wake.bmc,
                await groupManager.host(host.id) == nil
            else { continue }
            missing.append((host, bmc))
        }
        // A few BMCs at once: an unreachable one takes seconds to give up on.
        let chassisPower = self.chassisPower
        let off = await withTaskGroup(of: String?.self) { group in
            var pending = missing.makeIterator()
            func probeNext() {
                guard let (host, bmc) = pending.next() else { return }
                group.addTask { await chassisPower(bmc) == false ? host.id : nil }
            }
            for _ in 0..<16 { probeNext() }
            var off: Set<String> = []
            for await id in group {
                if let id { off.insert(id) }
                probeNext()
            }
            return off
        }
        for (host, _) in missing where off.contains(host.id) {
            guard await trackAsleep(host) else { continue }
            logger.notice(
                "host not back since the start and its BMC reports power off: tracked as asleep",
                metadata: [.host: "\(host.id)"]
            )
            do {
                try await store.setHostState(.sleeping, ofHost: host.id, at: host.lastSeen)
            } catch {
                logger.error(
                    "cannot record a host's power state",
                    metadata: [.host: "\(host.id)", .state: "SLEEPING", .error: "\(error)"]
                )
            }
        }
        await recordHostsNotBack()
    }

    /// How long after a start a host recorded up has to rejoin before it is declared FAILED: the rejoin window's
    /// maximum, or an agent's longest retry plus two heartbeat timeouts if that is longer.
    static func timeToComeBack(_ configuration: ManagerConfiguration, window: RejoinWindow) -> Duration {
        max(window.maximum, configuration.agentRetryMaximum + configuration.heartbeatTimeout * 2)
    }

    /// Once agents have had time to come back (the longer of the rejoin window's maximum and an agent's longest
    /// retry plus two heartbeat timeouts) and the BMCs were asked (`trackPoweredOffHosts`): a host the store
    /// records ACTIVE whose agent has not come back, and which is not known to be off, is lost as if its
    /// heartbeats had stopped: listed FAILED, last heard of when the store last saw it, its VMs `unreachable` and
    /// highly available ones restarted elsewhere once it is fenced. Without this, a host that died while no manager
    /// ran was absent from `torpor hosts` and its VMs stayed `running` in the state for good. A host the store
    /// records FAILED is listed FAILED again (its VMs were dealt with when it failed) until the registry's retention
    /// forgets it. An agent that comes back later joins as from any failure, and its inventory sets its VMs right.
    func recordHostsNotBack() async {
        // Later than the rejoin window: an agent retries its manager with a backoff of up to 30 s, so one whose
        // manager was away for long may take that long to come back, and a host declared FAILED here is fenced
        // before its highly available VMs start elsewhere.
        let deadline = rejoinWindow.opened + Self.timeToComeBack(configuration, window: rejoinWindow)
        guard (try? await Task.sleep(until: deadline, clock: .continuous)) != nil else { return }
        let stored: [StoredHost]
        do {
            stored = try await store.hosts()
        } catch {
            logger.error("cannot read the hosts to find those not back", metadata: [.error: "\(error)"])
            return
        }
        await lockDecisions()
        defer { unlockDecisions() }
        for host in stored where host.state == .active || host.state == .failed {
            guard power[host.id] == nil else { continue }
            let lastSeen = instant(of: host.lastSeen)
            let failedSince = host.state == .failed ? lastSeen : .now
            guard
                await groupManager.restoreFailed(
                    agentDescription(of: host),
                    lastSeen: lastSeen,
                    failedSince: failedSince
                )
            else { continue }  // it rejoined
            guard host.state == .active else { continue }
            logger.error(
                "host not back since the manager started: FAILED",
                metadata: [.host: "\(host.id)", .silentFor: "\(ContinuousClock.now - lastSeen)"]
            )
            do {
                // Its last-seen time is kept: it says when the host was last heard from.
                try await store.setHostState(.failed, ofHost: host.id)
            } catch {
                logger.error(
                    "cannot record a host's state",
                    metadata: [.host: "\(host.id)", .state: "FAILED", .error: "\(error)"]
                )
            }
            announceFailed(host.id)
            await markVMsUnreachable(onFailed: host.id, reason: "\(host.id) FAILED: not back since the manager started")
        }
    }

    /// Runs a power machine's action against the group manager.
    func perform(_ action: HostPowerMachine.Action, for host: String) async {
        switch action {
        case .none:
            break
        case .markInRegistry(let state):
            await groupManager.setState(state, of: host)
        case .stayedUp(let reason):
            logger.error(
                "power-down did not happen; the host stays up",
                metadata: [.host: "\(host)", .error: "\(reason)"]
            )
            await groupManager.setState(.active, of: host)
        }
    }

    /// Sends the power command to a host already marked SLEEPING by `.powerDownOrdered`. A refusal, or a command
    /// that may not have arrived (not connected, connection lost, no answer) without the agent announcing that it
    /// goes down, leaves the host awake.
    func powerDown(_ host: String, action: PowerAction, reason: String) async -> CommandResult {
        logger.notice(
            "powering a host down",
            metadata: [.host: "\(host)", .action: "\(action.configName)", .reason: "\(reason)"]
        )
        await groupManager.setState(.sleeping, of: host)
        // Recorded before the order goes out: a manager stopped from here on finds the host asleep at its next
        // start, and one stopped before it never sent the order.
        await storePowerState(host)
        let timeout = UInt32(clamping: configuration.energy.powerCommandTimeout.components.seconds)
        let ordered = ContinuousClock.now
        let result = await groupManager.send(PowerCommand(action: action.wire, timeoutSeconds: timeout), to: host)
        let outcome: HostPowerMachine.PowerCommandOutcome =
            switch result.code {
            case .ok: .accepted
            case .notDelivered, .timedOut: .notDelivered(result.message)
            default: .refused(result.message)
            }
        let outcomeName =
            switch outcome {
            case .accepted: "accepted"
            case .notDelivered: "not_delivered"
            case .refused: "refused"
            }
        metrics.sleepEnded(action: action.configName, outcome: outcomeName, took: ContinuousClock.now - ordered)
        await perform(powerEvent(.powerCommandEnded(outcome), for: host), for: host)
        return result
    }

    /// Wakes `host` if it sleeps (or waits for a wake under way) until its agent has rejoined; the failure names
    /// every driver tried.
    func ensureAwake(_ host: String) async -> Result<Void, WakeFailure> {
        switch power[host]?.state {
        case .sleeping?:
            break
        case .waking?:
            while power[host]?.state == .waking { try? await Task.sleep(for: .milliseconds(200)) }
            return power[host]?.state == .failed
                ? .failure(WakeFailure(description: "\(host) did not wake")) : .success(())
        case .failed?:
            return .failure(WakeFailure(description: "\(host) is FAILED"))
        default:
            return .success(())
        }
        let drivers = (configuration.hostWake[host]?.drivers ?? []).map(makeWakeDriver)
        let started = ContinuousClock.now
        await perform(
            powerEvent(.wakeStarted(activity: "waiting for \(host) to finish going down"), for: host),
            for: host
        )
        // A power-on that reaches a host still going down is lost: wait until its agent has really gone.
        await waitUntilDown(host, within: configuration.energy.powerCommandTimeout + .seconds(10))
        var attempts: [String] = []
        for driver in drivers {
            powerEvent(.wakeProgressed(activity: "waking \(host) via \(driver.name)"), for: host)
            logger.notice("waking a host", metadata: [.host: "\(host)", .driver: "\(driver.name)"])
            switch await driver.wake() {
            case .failure(let failure):
                attempts.append("\(driver.name): \(failure)")
                logger.warning(
                    "wake driver failed",
                    metadata: [
                        .host: "\(host)", .driver: "\(driver.name)", .error: "\(failure)",
                    ]
                )
                continue
            case .success:
                break
            }
            if await waitUntilConnected(host, within: configuration.energy.wakeupTime) {
                let now = ContinuousClock.now
                powerEvent(.woke, for: host, at: now)
                metrics.wakeEnded(outcome: "woke", took: now - started)
                logger.notice(
                    "host woke",
                    metadata: [
                        .host: "\(host)", .driver: "\(driver.name)", .took: "\(now - started)",
                    ]
                )
                return .success(())
            }
            attempts.append("\(driver.name): no rejoin within \(configuration.energy.wakeupTime)")
        }
        if drivers.isEmpty { attempts.append("no wake driver configured") }
        await perform(powerEvent(.wakeFailed, for: host), for: host)
        metrics.wakeEnded(outcome: "failed", took: nil)
        let failure = WakeFailure(description: "\(host) did not wake (tried \(attempts.joined(separator: "; ")))")
        logger.error(
            "host did not wake; marked FAILED",
            metadata: [.host: "\(host)", .error: "\(failure)"]
        )
        return .failure(failure)
    }

    private func waitUntilDown(_ host: String, within wait: Duration) async {
        let deadline = ContinuousClock.now + wait
        var wasConnected = false
        while ContinuousClock.now < deadline, !Task.isCancelled,
            await groupManager.hosts().contains(where: { $0.hostID == host && $0.connected })
        {
            wasConnected = true
            try? await Task.sleep(for: .milliseconds(100))
        }
        // The BMC finishes its power-off after the agent has gone.
        if wasConnected { try? await Task.sleep(for: .seconds(1)) }
    }

    /// Polls until the host's agent is connected and the host ACTIVE (joined, or rejoined after a wake).
    func waitUntilConnected(_ host: String, within wait: Duration) async -> Bool {
        let deadline = ContinuousClock.now + wait
        while ContinuousClock.now < deadline, !Task.isCancelled {
            if await groupManager.hosts().contains(where: { $0.hostID == host && $0.connected && $0.state == .active })
            {
                return true
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    /// "waking host-3 via IPMI, 40 s" for a host being woken, else nil.
    func wakeProgress(_ host: String) -> String? {
        guard let power = power[host], power.state == .waking, let activity = power.wakeActivity else { return nil }
        return "\(activity), \((ContinuousClock.now - power.since).components.seconds) s"
    }

    /// A host's agent said hello: whatever we thought of its power, it is up.
    func noteJoined(_ host: String) {
        guard power[host] != nil else { return }
        powerEvent(.joined, for: host)
    }

    func beginCommand(_ host: String) { powerEvent(.commandStarted, for: host) }
    func endCommand(_ host: String) { powerEvent(.commandEnded, for: host) }
}

public struct WakeFailure: Error, CustomStringConvertible, Sendable {
    public let description: String
}

extension VMState {
    /// Running, paused or in between: the domain holds its host.
    var isActive: Bool {
        switch self {
        case .running, .blocked, .paused, .shuttingDown, .pmSuspended: true
        default: false
        }
    }
}

extension PowerAction {
    init(_ action: PowerCommand.Action) {
        switch action {
        case .suspendToRam: self = .suspendToRam
        case .suspendToDisk: self = .suspendToDisk
        case .suspendToBoth: self = .suspendToBoth
        case .shutdown: self = .shutdown
        }
    }

    var wire: PowerCommand.Action {
        switch self {
        case .suspendToRam: .suspendToRam
        case .suspendToDisk: .suspendToDisk
        case .suspendToBoth: .suspendToBoth
        case .shutdown: .shutdown
        }
    }
}
