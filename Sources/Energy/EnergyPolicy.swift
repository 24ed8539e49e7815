/// Decides which hosts to power down and when to wake one to refill the reserve. Pure: the hosts and the time
/// come in, decisions and the carried-over state come out; the manager does the I/O.
///
/// Invariants (tested over random event sequences): a host that runs a VM, is receiving one or has a command in
/// flight is never powered down; at least `reservedHosts` idle hosts stay awake whenever that many are awake;
/// a woken host stays up for `minimumAwake`.
public struct EnergyPolicy: Sendable {
    public var configuration: EnergyPolicyConfiguration

    /// What one evaluation hands to the next.
    public struct State: Sendable, Hashable {
        /// Since when the awake idle hosts have been fewer than the reserve; nil when they are enough.
        public var reserveShortSince: Duration?

        public init(reserveShortSince: Duration? = nil) {
            self.reserveShortSince = reserveShortSince
        }
    }

    public init(configuration: EnergyPolicyConfiguration = EnergyPolicyConfiguration()) {
        self.configuration = configuration
    }

    /// One decision per host, in the order given.
    public func evaluate(
        _ hosts: [EnergyHost],
        at now: Duration,
        state: State = State()
    ) -> (decisions: [EnergyDecision], state: State) {
        var decisions: [String: EnergyDecision] = [:]
        let reserve = reserveSize(hosts)
        // Idle awake hosts: the reserve is kept from these, and the rest may go down.
        let idleAwake = hosts.filter { ($0.state == .active || $0.state == .waking) && !$0.isBusy }
        // Keep the hosts most recently woken (they must stay up anyway), then the ones idle the shortest time.
        let kept = Set(
            idleAwake.sorted { lhs, rhs in
                let lhsWoke = lhs.wokeAt ?? .zero
                let rhsWoke = rhs.wokeAt ?? .zero
                if lhsWoke != rhsWoke { return lhsWoke > rhsWoke }
                let lhsIdle = lhs.idleSince ?? now
                let rhsIdle = rhs.idleSince ?? now
                if lhsIdle != rhsIdle { return lhsIdle > rhsIdle }
                return lhs.id < rhs.id
            }
            .prefix(reserve)
            .map(\.id)
        )
        for host in hosts {
            decisions[host.id] = powerDownDecision(host, kept: kept.contains(host.id), reserve: reserve, at: now)
        }

        // Refill the reserve from sleeping hosts that can be woken once the shortfall has lasted the power-on
        // window.
        var next = state
        let shortfall = reserve - idleAwake.count
        if shortfall > 0, hosts.contains(where: { $0.state == .sleeping && $0.canWake }) {
            let since = state.reserveShortSince ?? now
            next.reserveShortSince = since
            if now - since >= configuration.powerOnWindow {
                let rested = hosts.filter { host in
                    host.state == .sleeping && host.canWake
                        && now - (host.sleptAt ?? .zero) >= configuration.minimumAsleep
                }
                let oldestFirst = rested.sorted { ($0.sleptAt ?? .zero) < ($1.sleptAt ?? .zero) }
                for host in oldestFirst.prefix(shortfall) {
                    decisions[host.id] = EnergyDecision(
                        hostID: host.id,
                        action: .wake,
                        reason: "reserve: \(idleAwake.count) of \(reserve) idle hosts awake for "
                            + Self.seconds(now - since)
                    )
                }
            }
        } else {
            next.reserveShortSince = nil
        }
        return (hosts.compactMap { decisions[$0.id] }, next)
    }

    private func powerDownDecision(
        _ host: EnergyHost,
        kept: Bool,
        reserve: Int,
        at now: Duration
    ) -> EnergyDecision {
        func stays(_ reason: String) -> EnergyDecision {
            EnergyDecision(hostID: host.id, action: .none, reason: reason)
        }
        switch host.state {
        case .sleeping: return stays("asleep")
        case .waking: return stays("waking")
        case .failed: return stays("failed")
        case .active: break
        }
        if host.vmCount > 0 { return stays("runs \(Self.count(host.vmCount, "VM"))") }
        if host.incomingVMs > 0 { return stays("receiving \(Self.count(host.incomingVMs, "VM"))") }
        if host.commandsInFlight > 0 { return stays("a command is in flight") }
        let idleFor = now - (host.idleSince ?? now)
        if idleFor < configuration.idleTime {
            return stays("idle for \(Self.seconds(idleFor)) of \(Self.seconds(configuration.idleTime))")
        }
        if let woke = host.wokeAt, now - woke < configuration.minimumAwake {
            return stays(
                "woke \(Self.seconds(now - woke)) ago; stays up at least \(Self.seconds(configuration.minimumAwake))"
            )
        }
        if kept { return stays("reserved (\(Self.count(reserve, "idle host")) kept awake)") }
        guard let action = chooseAction(host.supportedActions) else {
            return stays("no power-saving action available")
        }
        return EnergyDecision(
            hostID: host.id,
            action: .powerDown(action),
            reason: "idle for \(Self.seconds(idleFor)) (≥ \(Self.seconds(configuration.idleTime))), not reserved"
        )
    }

    /// The configured action when the host can do it, else the cheapest one it can.
    func chooseAction(_ supported: Set<PowerAction>) -> PowerAction? {
        supported.contains(configuration.action) ? configuration.action : supported.min()
    }

    /// `reservedHosts`, or more when the reserve by load asks for more.
    func reserveSize(_ hosts: [EnergyHost]) -> Int {
        let byCount = max(0, configuration.reservedHosts)
        guard configuration.reservedLoadFraction > 0 else { return byCount }
        let used = hosts.filter { $0.state == .active }.reduce(0) { $0 + $1.usedCores }
        let wanted = used * configuration.reservedLoadFraction
        let perHost = hosts.map(\.capacityCores).max() ?? 1
        let byLoad = perHost > 0 ? Int((wanted / perHost).rounded(.up)) : 0
        return max(byCount, byLoad)
    }

    static func count(_ value: Int, _ noun: String) -> String { "\(value) \(noun)\(value == 1 ? "" : "s")" }

    static func seconds(_ duration: Duration) -> String {
        let value = duration / .seconds(1)
        return value == value.rounded() ? "\(Int(value)) s" : "\((value * 10).rounded() / 10) s"
    }
}
