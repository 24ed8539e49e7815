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

    public init(
        policy: String,
        moves: [Move],
        hostsFreed: [String],
        hostsUsedBefore: Int,
        hostsUsedAfter: Int,
        hostsLowerBound: Int,
        reason: String? = nil
    ) {
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
            reason: reason
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

/// Where one of the loop's migration tasks is.
public enum MigrationTaskOutcome: Sendable, Hashable {
    /// Waiting for a slot or moving, or its state cannot be read now.
    case running
    case succeeded
    /// Aborted or failed (the VM stays on its source), or the task is gone.
    case failed
}
