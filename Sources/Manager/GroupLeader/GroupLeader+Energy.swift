import Energy
import Foundation
import Logging
import Placement
import Wire

/// The energy saver and waking. Power-downs are decided by `EnergyPolicy` on a snapshot taken inside the leader,
/// and the host is marked SLEEPING in the same actor turn, so no plan can pick a host that is going down. A host
/// needed by a plan is woken through its drivers in order, each given `wakeupTime` for the agent to rejoin;
/// while that happens the leader keeps serving every other request.
extension GroupLeader {
    /// Power state the leader tracks beyond the group manager's view.
    struct HostPower: Sendable {
        var state: EnergyHost.PowerState
        var since: ContinuousClock.Instant
        var wokeAt: ContinuousClock.Instant?
        var sleptAt: ContinuousClock.Instant?
        /// While waking: "waking host-3 via IPMI" (the elapsed time is added when shown).
        var wakeActivity: String?
    }

    /// One evaluation of the energy policy and the actions it decides. Called every `evaluation_interval`.
    public func evaluateEnergy() async {
        guard configuration.energy.enabled else { return }
        // Snapshot, decision and SLEEPING marks under the decisions lock: no plan claims a host in between.
        await lockDecisions()
        let hosts = await groupManager.hosts()
        let now = ContinuousClock.now
        let energyHosts: [EnergyHost]
        do {
            energyHosts = try await self.energyHosts(hosts, at: now)
        } catch {
            unlockDecisions()
            logger.error("energy saver cannot read the VMs", metadata: ["torpor.error": "\(error)"])
            return
        }
        let policy = EnergyPolicy(configuration: configuration.energy.policy)
        let (decisions, next) = policy.evaluate(energyHosts, at: now - origin, state: energyState)
        energyState = next
        var powerDowns: [(String, PowerAction, String)] = []
        var wakes: [String] = []
        for decision in decisions {
            switch decision.action {
            case .powerDown(let action):
                // Marked before any suspension point: from here on no plan can choose the host.
                power[decision.hostID] = HostPower(state: .sleeping, since: now, sleptAt: now)
                powerDowns.append((decision.hostID, action, decision.reason))
            case .wake:
                wakes.append(decision.hostID)
                logger.notice(
                    "waking a host for the reserve",
                    metadata: ["torpor.host": "\(decision.hostID)", "torpor.reason": "\(decision.reason)"]
                )
            case .none:
                break
            }
        }
        unlockDecisions()
        await withTaskGroup(of: Void.self) { group in
            for (host, action, reason) in powerDowns {
                group.addTask { _ = await self.powerDown(host, action: action, reason: reason) }
            }
            for host in wakes {
                group.addTask { _ = await self.ensureAwake(host) }
            }
        }
    }

    func energyHosts(_ hosts: [ManagedHost], at now: ContinuousClock.Instant) async throws -> [EnergyHost] {
        let vms = try await store.vms()
        return hosts.map { host in
            let onHost = vms.filter { $0.hostID == host.hostID }
            let running = onHost.filter { [.running, .suspended, .unreachable].contains($0.state) }.count
            let incoming = onHost.filter { $0.state == .starting }.count
            if running + incoming > 0 {
                idleSince[host.hostID] = nil
            } else if idleSince[host.hostID] == nil {
                idleSince[host.hostID] = now
            }
            let tracked = power[host.hostID]
            let state: EnergyHost.PowerState =
                switch (tracked?.state, host.state, host.connected) {
                case (.sleeping?, _, _): .sleeping
                case (.waking?, _, _): .waking
                case (_, .active, true): .active
                default: .failed
                }
            let wakeable = !(configuration.hostWake[host.hostID]?.drivers.isEmpty ?? true)
            return EnergyHost(
                id: host.hostID,
                state: state,
                vmCount: running,
                incomingVMs: incoming,
                commandsInFlight: commandsInFlight[host.hostID, default: 0],
                idleSince: idleSince[host.hostID].map { $0 - origin },
                wokeAt: tracked?.wokeAt.map { $0 - origin },
                sleptAt: tracked?.sleptAt.map { $0 - origin },
                // A host nobody can wake is never put to sleep.
                supportedActions: wakeable ? Self.actions(host.capabilities) : [],
                capacityCores: Double(host.capacity.cores),
                usedCores: onHost.filter { $0.state == .running }.reduce(0) { $0 + Double($1.virtualCPUs) }
            )
        }
    }

    static func actions(_ capabilities: AgentCapabilities) -> Set<PowerAction> {
        var actions: Set<PowerAction> = []
        if capabilities.contains(.suspendToRam) { actions.insert(.suspendToRam) }
        if capabilities.contains(.suspendToDisk) { actions.insert(.suspendToDisk) }
        if capabilities.contains(.suspendToBoth) { actions.insert(.suspendToBoth) }
        if capabilities.contains(.shutdown) { actions.insert(.shutdown) }
        return actions
    }

    /// Sends the power command to a host already marked SLEEPING; on failure the host is ACTIVE again.
    func powerDown(_ host: String, action: PowerAction, reason: String) async -> CommandResult {
        logger.notice(
            "powering a host down",
            metadata: ["torpor.host": "\(host)", "torpor.action": "\(action.configName)", "torpor.reason": "\(reason)"]
        )
        await groupManager.setState(.sleeping, of: host)
        let timeout = UInt32(clamping: configuration.energy.powerCommandTimeout.components.seconds)
        let result = await groupManager.send(PowerCommand(action: action.wire, timeoutSeconds: timeout), to: host)
        // A host that goes down before its answer arrives has done what it was asked.
        guard result.isOK || result.code == .busy else {
            logger.error(
                "power-down failed; the host stays up",
                metadata: ["torpor.host": "\(host)", "torpor.error": "\(result.message)"]
            )
            power[host] = HostPower(state: .active, since: .now)
            await groupManager.setState(.active, of: host)
            return result
        }
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
        power[host]?.state = .waking
        power[host]?.wakeActivity = "waiting for \(host) to finish going down"
        await groupManager.setState(.waking, of: host)
        // A power-on that reaches a host still going down is lost: wait until its agent has really gone.
        await waitUntilDown(host, within: configuration.energy.powerCommandTimeout + .seconds(10))
        var attempts: [String] = []
        for driver in drivers {
            power[host]?.wakeActivity = "waking \(host) via \(driver.name)"
            logger.notice("waking a host", metadata: ["torpor.host": "\(host)", "torpor.driver": "\(driver.name)"])
            switch await driver.wake() {
            case .failure(let failure):
                attempts.append("\(driver.name): \(failure)")
                logger.warning(
                    "wake driver failed",
                    metadata: [
                        "torpor.host": "\(host)", "torpor.driver": "\(driver.name)", "torpor.error": "\(failure)",
                    ]
                )
                continue
            case .success:
                break
            }
            if await waitUntilConnected(host, within: configuration.energy.wakeupTime) {
                let now = ContinuousClock.now
                power[host] = HostPower(state: .active, since: now, wokeAt: now, sleptAt: power[host]?.sleptAt)
                idleSince[host] = now
                logger.notice(
                    "host woke",
                    metadata: [
                        "torpor.host": "\(host)", "torpor.driver": "\(driver.name)", "torpor.took": "\(now - started)",
                    ]
                )
                return .success(())
            }
            attempts.append("\(driver.name): no rejoin within \(configuration.energy.wakeupTime)")
        }
        if drivers.isEmpty { attempts.append("no wake driver configured") }
        power[host] = HostPower(state: .failed, since: .now)
        await groupManager.setState(.failed, of: host)
        let failure = WakeFailure(description: "\(host) did not wake (tried \(attempts.joined(separator: "; ")))")
        logger.error(
            "host did not wake; marked FAILED",
            metadata: ["torpor.host": "\(host)", "torpor.error": "\(failure)"]
        )
        return .failure(failure)
    }

    private func waitUntilDown(_ host: String, within wait: Duration) async {
        let deadline = ContinuousClock.now + wait
        var wasConnected = false
        while ContinuousClock.now < deadline,
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
        while ContinuousClock.now < deadline {
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
        guard let tracked = power[host], tracked.state != .active else { return }
        // A wake in progress finishes in `ensureAwake`; an unexpected return (operator, BMC) is recorded here.
        if tracked.state != .waking {
            power[host] = HostPower(state: .active, since: .now, wokeAt: .now, sleptAt: tracked.sleptAt)
            idleSince[host] = .now
        }
    }

    func beginCommand(_ host: String) { commandsInFlight[host, default: 0] += 1 }
    func endCommand(_ host: String) { commandsInFlight[host, default: 1] -= 1 }
}

public struct WakeFailure: Error, CustomStringConvertible, Sendable {
    public let description: String
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
