/// The manager's relocation and consolidation loop as decisions, without I/O: events in, actions out
/// (`ConsolidationController` carries the actions out).
///
/// One plan at a time: relocation is planned on every estimate refresh while nothing else runs, consolidation when
/// its schedule fires or on demand. A plan is started only if it moves something and, for consolidation, frees at
/// least one host at a cost within the budget. While a plan's migrations run, refreshes plan nothing (the next
/// refresh after they end does), a scheduled consolidation waits for them, and an on-demand one is refused.
///
/// It also says what Snooze's consumers hear of it: `LC_ANOMALY` when a relocation plan finds a host newly over MAX
/// or under MIN (once per host entering that state, not at every refresh it stays there), `RECONFIGURATION` when a
/// consolidation round's migrations start and when the last of them ends.
public struct ConsolidationLoopMachine: Sendable, Hashable {
    public enum PlanKind: String, Sendable, Hashable {
        case relocation
        case consolidation
    }

    /// What a policy's plan amounts to, as far as deciding whether to run it goes.
    public struct PlanSummary: Sendable, Hashable {
        public var moves: Int
        public var hostsFreed: Int
        /// The sum of the moves' estimated migration times.
        public var costSeconds: Double
        /// Why the policy found nothing to do; nil when it did.
        public var reason: String?
        /// Relocation only: the hosts it found over MAX and under MIN.
        public var overloaded: [String]
        public var underloaded: [String]

        public init(
            moves: Int,
            hostsFreed: Int,
            costSeconds: Double,
            reason: String? = nil,
            overloaded: [String] = [],
            underloaded: [String] = []
        ) {
            self.moves = moves
            self.hostsFreed = hostsFreed
            self.costSeconds = costSeconds
            self.reason = reason
            self.overloaded = overloaded
            self.underloaded = underloaded
        }
    }

    /// How a host is out of its thresholds.
    public enum Anomaly: String, Sendable, Hashable {
        case overloaded, underloaded
    }

    /// A consolidation round's two moments Snooze's consumers hear of.
    public enum RoundEdge: String, Sendable, Hashable {
        case started, ended
    }

    public enum Event: Sendable, Hashable {
        /// The estimates were recomputed from the newest samples.
        case estimatesRefreshed
        /// The consolidation schedule fired.
        case scheduleFired
        /// `torpor cluster consolidate` without --dry-run.
        case consolidationRequested
        /// The policy returned its plan for the kind being planned.
        case planned(PlanKind, PlanSummary)
        /// Planning failed (the state could not be read); nothing was started.
        case planningFailed(PlanKind)
        /// The plan's migrations were started; their ids (tasks). Empty when none could start.
        case migrationsStarted([String])
        case migrationEnded(String)
    }

    public enum Action: Sendable, Hashable {
        /// Build a snapshot and ask the policy for a plan, then feed `planned`.
        case plan(PlanKind)
        /// Start the plan's migrations, then feed `migrationsStarted`.
        case start(PlanKind)
        /// The plan is not run, and why.
        case discard(PlanKind, reason: String)
        /// An on-demand consolidation cannot run now, and why.
        case refuse(reason: String)
        /// Tell subscribers the host is newly out of its thresholds (Snooze's LC_ANOMALY).
        case announceAnomaly(host: String, Anomaly)
        /// Tell subscribers a consolidation round started or ended (Snooze's RECONFIGURATION).
        case announceReconfiguration(RoundEdge)
    }

    public enum Phase: Sendable, Hashable {
        case idle
        case planning(PlanKind)
        case starting(PlanKind)
        case migrating(PlanKind, Set<String>)
    }

    public private(set) var phase: Phase = .idle
    /// The schedule fired while something else ran: consolidation is planned once that ends.
    public private(set) var consolidationDue = false
    public let relocationEnabled: Bool
    /// The most a consolidation plan may cost, in seconds of migration.
    public let budgetSeconds: Double
    /// Hosts the last relocation plan found out of their thresholds, already announced.
    public private(set) var anomalies: [String: Anomaly] = [:]

    public init(relocationEnabled: Bool, budgetSeconds: Double) {
        self.relocationEnabled = relocationEnabled
        self.budgetSeconds = budgetSeconds
    }

    public mutating func handle(_ event: Event) -> [Action] {
        switch (event, phase) {
        case (.estimatesRefreshed, .idle):
            guard relocationEnabled else { return [] }
            phase = .planning(.relocation)
            return [.plan(.relocation)]
        case (.estimatesRefreshed, _):
            return []

        case (.scheduleFired, .idle):
            phase = .planning(.consolidation)
            return [.plan(.consolidation)]
        case (.scheduleFired, _):
            consolidationDue = true
            return []

        case (.consolidationRequested, .idle):
            phase = .planning(.consolidation)
            return [.plan(.consolidation)]
        case (.consolidationRequested, let busy):
            return [.refuse(reason: Self.busyReason(busy))]

        case (.planned(let kind, let summary), .planning(let planning)) where kind == planning:
            let announced = kind == .relocation ? newAnomalies(summary) : []
            if let reason = verdict(kind, summary) {
                phase = .idle
                return announced + [.discard(kind, reason: reason)] + followUp()
            }
            phase = .starting(kind)
            return announced + [.start(kind)]
        case (.planningFailed(let kind), .planning(let planning)) where kind == planning:
            phase = .idle
            return followUp()

        case (.migrationsStarted(let ids), .starting(let kind)):
            guard !ids.isEmpty else {
                phase = .idle
                return followUp()
            }
            phase = .migrating(kind, Set(ids))
            return kind == .consolidation ? [.announceReconfiguration(.started)] : []

        case (.migrationEnded(let id), .migrating(let kind, var running)) where running.contains(id):
            running.remove(id)
            guard running.isEmpty else {
                phase = .migrating(kind, running)
                return []
            }
            phase = .idle
            return (kind == .consolidation ? [.announceReconfiguration(.ended)] : []) + followUp()

        default:
            // A late or stray event (a plan for a kind no longer being planned, an unknown migration): ignored.
            return []
        }
    }

    /// Why a plan is not run; nil when it is.
    public func verdict(_ kind: PlanKind, _ summary: PlanSummary) -> String? {
        guard summary.moves > 0 else { return summary.reason ?? "nothing to move" }
        guard kind == .consolidation else { return nil }
        guard summary.hostsFreed > 0 else { return summary.reason ?? "the plan frees no host" }
        guard summary.costSeconds <= budgetSeconds else {
            return "the plan costs \(Self.seconds(summary.costSeconds)) of migration, over the budget of "
                + "\(Self.seconds(budgetSeconds)) (consolidation.budget)"
        }
        return nil
    }

    /// The hosts a relocation plan finds out of their thresholds that were not (or not that way) at the last one, in
    /// host order; remembers the plan's set, so a host back within them is announced again when it next leaves.
    private mutating func newAnomalies(_ summary: PlanSummary) -> [Action] {
        var current: [String: Anomaly] = [:]
        for host in summary.underloaded { current[host] = .underloaded }
        for host in summary.overloaded { current[host] = .overloaded }
        defer { anomalies = current }
        return current.keys.sorted().compactMap { host in
            current[host] == anomalies[host] ? nil : .announceAnomaly(host: host, current[host] ?? .overloaded)
        }
    }

    /// Once idle again: a consolidation the schedule asked for while busy.
    private mutating func followUp() -> [Action] {
        guard consolidationDue else { return [] }
        consolidationDue = false
        phase = .planning(.consolidation)
        return [.plan(.consolidation)]
    }

    private static func busyReason(_ phase: Phase) -> String {
        switch phase {
        case .idle: "idle"
        case .planning(let kind), .starting(let kind): "a \(kind.rawValue) plan is being made"
        case .migrating(let kind, let running):
            running.count == 1
                ? "1 migration of a \(kind.rawValue) plan still runs"
                : "\(running.count) migrations of a \(kind.rawValue) plan still run"
        }
    }

    static func seconds(_ value: Double) -> String {
        value < 120 ? "\(Int(value.rounded())) s" : "\(Int((value / 60).rounded())) min"
    }
}
