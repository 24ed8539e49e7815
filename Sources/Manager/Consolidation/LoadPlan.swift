/// A relocation or consolidation plan as the manager runs and shows it: moves with their cost, the hosts it frees.
public struct LoadPlan: Sendable, Hashable {
    public struct Move: Sendable, Hashable {
        public var vmID: String
        public var vmName: String
        public var fromHost: String
        public var toHost: String
        public var memoryBytes: Double
        /// Estimated bytes sent and seconds taken by the migration.
        public var costBytes: Double
        public var costSeconds: Double

        public init(
            vmID: String,
            vmName: String,
            fromHost: String,
            toHost: String,
            memoryBytes: Double,
            costBytes: Double,
            costSeconds: Double
        ) {
            self.vmID = vmID
            self.vmName = vmName
            self.fromHost = fromHost
            self.toHost = toHost
            self.memoryBytes = memoryBytes
            self.costBytes = costBytes
            self.costSeconds = costSeconds
        }
    }

    public var policy: String
    public var moves: [Move]
    public var hostsFreed: [String]
    public var hostsUsedBefore: Int
    public var hostsUsedAfter: Int
    /// The fewest hosts that could hold the VMs at all.
    public var hostsLowerBound: Int
    /// Why the policy found nothing to do; nil when it did.
    public var reason: String?
    /// Relocation only: the hosts found over MAX and under MIN.
    public var overloadedHosts: [String]
    public var underloadedHosts: [String]

    public init(
        policy: String,
        moves: [Move],
        hostsFreed: [String],
        hostsUsedBefore: Int,
        hostsUsedAfter: Int,
        hostsLowerBound: Int,
        reason: String? = nil,
        overloadedHosts: [String] = [],
        underloadedHosts: [String] = []
    ) {
        self.overloadedHosts = overloadedHosts
        self.underloadedHosts = underloadedHosts
        self.policy = policy
        self.moves = moves
        self.hostsFreed = hostsFreed
        self.hostsUsedBefore = hostsUsedBefore
        self.hostsUsedAfter = hostsUsedAfter
        self.hostsLowerBound = hostsLowerBound
        self.reason = reason
    }

    public var costBytes: Double { moves.reduce(0) { $0 + $1.costBytes } }
    public var costSeconds: Double { moves.reduce(0) { $0 + $1.costSeconds } }

    var summary: ConsolidationLoopMachine.PlanSummary {
        ConsolidationLoopMachine.PlanSummary(
            moves: moves.count,
            hostsFreed: hostsFreed.count,
            costSeconds: costSeconds,
            reason: reason,
            overloaded: overloadedHosts,
            underloaded: underloadedHosts
        )
    }
}

/// The relocation and consolidation policies, over a planning snapshot. Pure.
public protocol LoadPlanner: Sendable {
    /// Overload relief and underload evacuation.
    func relocation(_ snapshot: PlanningSnapshot) -> LoadPlan
    /// Packing onto fewer hosts (`consolidation.policy`).
    func consolidation(_ snapshot: PlanningSnapshot) -> LoadPlan
}

/// What the loop needs of the group leader's migrations.
public protocol MigrationStarting: Sendable {
    /// Starts a migration task moving the VM named `vmName` to `hostID`, recording `reason`; returns its task id.
    /// Throws, naming the problem, when the move is refused (VM not running, host asleep or full, a migration of it
    /// running).
    func startMigration(vmName: String, to hostID: String, reason: String) async throws -> String
    /// Where the migration task is.
    func migrationOutcome(taskID: String) async -> MigrationTaskOutcome
    /// Hosts a plan must neither empty nor fill: a migration in or out, or an agent that cannot migrate.
    func hostsPlanningLeavesAlone() async -> Set<String>
}

/// Where the loop's decisions are told to Snooze's consumers (the group leader's event bus).
public protocol ConsolidationAnnouncing: Sendable {
    /// LC_ANOMALY: `hostID` is newly over MAX or under MIN.
    func announceAnomaly(hostID: String, _ anomaly: ConsolidationLoopMachine.Anomaly) async
    /// RECONFIGURATION: a consolidation round started (its plan) or ended (what it did).
    func announceReconfiguration(_ round: ReconfigurationRound) async
}

/// A consolidation round as Snooze's ReconfigurationPlan tells it: which VM goes (went) to which host, how many
/// migrations, how many hosts it releases (released).
public struct ReconfigurationRound: Sendable, Hashable {
    public var edge: ConsolidationLoopMachine.RoundEdge
    /// VM name to target host.
    public var mapping: [String: String]
    public var migrations: Int
    public var releasedHosts: [String]

    public init(edge: ConsolidationLoopMachine.RoundEdge, mapping: [String: String], releasedHosts: [String]) {
        self.edge = edge
        self.mapping = mapping
        self.migrations = mapping.count
        self.releasedHosts = releasedHosts
    }
}

/// Where one of the loop's migration tasks is.
public enum MigrationTaskOutcome: Sendable, Hashable {
    /// Waiting for a slot or moving, or its state cannot be read now.
    case running
    case succeeded
    /// Aborted or failed (the VM stays on its source), or the task is gone.
    case failed
}
