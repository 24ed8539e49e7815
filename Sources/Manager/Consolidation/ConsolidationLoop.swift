import Logging
import Placement
import Wire

/// Runs the relocation and consolidation loop: feeds `ConsolidationLoopMachine` its events (estimate refreshes,
/// the schedule, on-demand requests, migrations ending) and carries out its actions (plan on a fresh snapshot,
/// start the plan's migrations through the group leader). `ConsolidationService` drives it on a timer; the
/// bootstrap hands it `torpor cluster consolidate`.
public actor ConsolidationLoop {
    private var machine: ConsolidationLoopMachine
    private let planner: any LoadPlanner
    private let policyName: String
    private let migrations: any MigrationStarting
    /// Where LC_ANOMALY and RECONFIGURATION go (the leader's event bus); nil: nowhere.
    private let announcer: (any ConsolidationAnnouncing)?
    /// The consolidation round whose migrations run: its plan, its moves by task id, the moves that completed.
    private var round: (plan: LoadPlan, moves: [String: LoadPlan.Move], completed: [LoadPlan.Move])?
    /// The leader's hosts (with placement state) and stored VMs.
    private let state: @Sendable () async throws -> (hosts: [PlanningHost], vms: [StoredVM])
    /// The group manager's samples per VM.
    private let demands: @Sendable () async -> [VMDemand]
    private let estimator: Estimator
    private let logger: Logger
    /// The plan of the kind being planned or started, kept for the reply and for the moves' log lines.
    private var plan: LoadPlan?
    /// Task ids of the moves started last, by VM name, for the reply.
    private var startedTasks: [String: String] = [:]
    /// The VM each running migration task moves, by task id.
    private var movingVMs: [String: String] = [:]
    /// VMs whose migration failed or was refused, left in place until the instant given (`retryAfter`).
    private var heldBack: [String: ContinuousClock.Instant] = [:]
    /// How long a VM whose migration failed or was refused is left in place: without it, the next refresh would
    /// plan the same move again, and a move that cannot work would fail once per refresh.
    private let retryAfter: Duration

    public init(
        configuration: ManagerConfiguration,
        planner: any LoadPlanner,
        policyName: String,
        migrations: any MigrationStarting,
        state: @escaping @Sendable () async throws -> (hosts: [PlanningHost], vms: [StoredVM]),
        demands: @escaping @Sendable () async -> [VMDemand],
        retryAfter: Duration = .seconds(600),
        announcer: (any ConsolidationAnnouncing)? = nil,
        logger: Logger
    ) {
        self.retryAfter = retryAfter
        self.announcer = announcer
        self.machine = ConsolidationLoopMachine(
            relocationEnabled: configuration.relocation.enabled,
            budgetSeconds: Double(configuration.consolidation.budget.components.seconds)
        )
        self.planner = planner
        self.policyName = policyName
        self.migrations = migrations
        self.state = state
        self.demands = demands
        self.estimator = configuration.estimator.estimator
        self.logger = logger
    }

    public var phase: ConsolidationLoopMachine.Phase { machine.phase }

    /// An estimate refresh: first the migrations that ended, then relocation if nothing else runs.
    public func refresh() async {
        if case .migrating(_, let running) = machine.phase {
            for id in running.sorted() {
                let outcome = await migrations.migrationOutcome(taskID: id)
                guard outcome != .running else { continue }
                if outcome == .failed, let vm = movingVMs[id] { holdBack(vm, because: "its migration \(id) failed") }
                if outcome == .succeeded, let move = round?.moves[id] { round?.completed.append(move) }
                movingVMs[id] = nil
                _ = await perform(machine.handle(.migrationEnded(id)))
            }
        }
        _ = await perform(machine.handle(.estimatesRefreshed))
    }

    /// The consolidation schedule fired.
    public func scheduleFired() async {
        logger.info("consolidation schedule fired", metadata: [.policy: "\(policyName)"])
        _ = await perform(machine.handle(.scheduleFired))
    }

    /// `torpor cluster consolidate`: a dry run plans and answers without starting anything (whatever the loop is
    /// doing); otherwise the plan is made and started as the scheduled one would be, or refused while the loop is
    /// busy.
    public func consolidate(dryRun: Bool) async -> ConsolidationReply {
        if dryRun {
            guard let snapshot = await snapshot() else {
                return Self.reply(nil, policy: policyName, started: false, reason: "the manager's state cannot be read")
            }
            let plan = planner.consolidation(snapshot)
            let reason = machine.verdict(.consolidation, plan.summary) ?? ""
            return Self.reply(plan, policy: policyName, started: false, reason: reason)
        }
        plan = nil
        startedTasks = [:]
        let outcome = await perform(machine.handle(.consolidationRequested))
        return Self.reply(
            plan,
            policy: policyName,
            started: outcome.started,
            reason: outcome.reason ?? "",
            tasks: startedTasks
        )
    }

    /// Carries out actions and those they lead to. Returns whether migrations were started and why not.
    private func perform(_ first: [ConsolidationLoopMachine.Action]) async -> (started: Bool, reason: String?) {
        var pending = first
        var started = false
        var reason: String?
        while !pending.isEmpty {
            let action = pending.removeFirst()
            switch action {
            case .plan(let kind):
                guard let snapshot = await snapshot() else {
                    reason = "the manager's state cannot be read"
                    pending += machine.handle(.planningFailed(kind))
                    continue
                }
                let made = kind == .relocation ? planner.relocation(snapshot) : planner.consolidation(snapshot)
                plan = made
                pending += machine.handle(.planned(kind, made.summary))
            case .start(let kind):
                let ids = await start(plan?.moves ?? [], kind: kind)
                started = !ids.isEmpty
                if kind == .consolidation, let plan {
                    round = (plan, startedTasks.reduce(into: [:]) { moves, started in
                        if let move = plan.moves.first(where: { $0.vmName == started.key }) { moves[started.value] = move }
                    }, [])
                }
                if !started { reason = "no migration could be started" }
                pending += machine.handle(.migrationsStarted(ids))
            case .discard(let kind, let why):
                reason = why
                // Relocation finds nothing on most refreshes: only a consolidation's verdict is worth a notice.
                if kind == .consolidation {
                    logger.notice(
                        "consolidation plan not run",
                        metadata: [.reason: "\(why)", .policy: "\(policyName)"]
                    )
                } else {
                    logger.debug("no relocation", metadata: [.reason: "\(why)"])
                }
            case .refuse(let why):
                reason = why
                logger.notice("consolidation refused", metadata: [.reason: "\(why)"])
            case .announceAnomaly(let host, let anomaly):
                logger.notice("host out of its thresholds", metadata: [.host: "\(host)", .state: "\(anomaly.rawValue)"])
                await announcer?.announceAnomaly(hostID: host, anomaly)
            case .announceReconfiguration(let edge):
                await announceRound(edge)
            }
        }
        return (started, reason)
    }

    /// Starts each move's migration; a move the leader refuses is logged and skipped. Returns the task ids.
    private func start(_ moves: [LoadPlan.Move], kind: ConsolidationLoopMachine.PlanKind) async -> [String] {
        var ids: [String] = []
        for move in moves {
            do {
                let id = try await migrations.startMigration(
                    vmName: move.vmName,
                    to: move.toHost,
                    reason: "\(kind.rawValue) (\(policyName)): \(move.fromHost) to \(move.toHost)"
                )
                ids.append(id)
                startedTasks[move.vmName] = id
                movingVMs[id] = move.vmID
                logger.notice(
                    "migration started",
                    metadata: [
                        .kind: "\(kind.rawValue)", .vm: "\(move.vmName)", .host: "\(move.fromHost)",
                        .detail: "to \(move.toHost)", .task: "\(id)",
                    ]
                )
            } catch {
                logger.warning(
                    "migration not started",
                    metadata: [.kind: "\(kind.rawValue)", .vm: "\(move.vmName)", .error: "\(error)"]
                )
                holdBack(move.vmID, because: "its migration was refused")
            }
        }
        return ids
    }

    /// RECONFIGURATION: at the start the round's started moves and the hosts its plan frees; at the end the moves
    /// that completed and the freed hosts all of whose moves did.
    private func announceRound(_ edge: ConsolidationLoopMachine.RoundEdge) async {
        guard let round else { return }
        let moves = edge == .started ? Array(round.moves.values) : round.completed
        var released = round.plan.hostsFreed
        if edge == .ended {
            let moved = Set(round.completed.map(\.vmID))
            released = released.filter { host in
                round.plan.moves.allSatisfy { $0.fromHost != host || moved.contains($0.vmID) }
            }
            self.round = nil
        }
        let announced = ReconfigurationRound(
            edge: edge,
            mapping: Dictionary(moves.map { ($0.vmName, $0.toHost) }, uniquingKeysWith: { first, _ in first }),
            releasedHosts: released
        )
        await announcer?.announceReconfiguration(announced)
    }

    private func holdBack(_ vmID: String, because reason: String) {
        heldBack[vmID] = .now + retryAfter
        logger.notice(
            "VM left in place",
            metadata: [.uuid: "\(vmID)", .reason: "\(reason)", .duration: "\(retryAfter)"]
        )
    }

    private func snapshot() async -> PlanningSnapshot? {
        do {
            let (hosts, vms) = try await state()
            let now = ContinuousClock.now
            heldBack = heldBack.filter { $0.value > now }
            var snapshot = PlanningSnapshotBuilder.build(
                hosts: hosts,
                vms: vms,
                demands: await demands(),
                estimator: estimator,
                migratingHosts: await migrations.hostsPlanningLeavesAlone()
            )
            // Held-back VMs hold their hosts like a suspended VM does.
            for index in snapshot.vms.indices where heldBack[snapshot.vms[index].id] != nil {
                snapshot.vms[index].movable = false
            }
            return snapshot
        } catch {
            logger.error("cannot read the state to plan", metadata: [.error: "\(error)"])
            return nil
        }
    }

    /// At most this many bytes of moves go in one reply, well under the frame limit (a plan of tens of thousands
    /// of moves is cut: `moveCount` says how many there are, the totals cover them all).
    static let replyMoveBudget = 768 * 1024

    static func reply(
        _ plan: LoadPlan?,
        policy: String,
        started: Bool,
        reason: String,
        tasks: [String: String] = [:]
    ) -> ConsolidationReply {
        var moves: [ConsolidationReply.Move] = []
        var bytes = 0
        for move in plan?.moves ?? [] {
            let shown = ConsolidationReply.Move(
                vm: move.vmName,
                fromHost: move.fromHost,
                toHost: move.toHost,
                memoryBytes: wholeBytes(move.memoryBytes),
                costBytes: wholeBytes(move.costBytes),
                costSeconds: move.costSeconds,
                taskID: tasks[move.vmName] ?? ""
            )
            bytes += ConsolidationReply.encodedSize(of: shown)
            guard bytes <= replyMoveBudget, moves.count < Int(UInt16.max) else { break }
            moves.append(shown)
        }
        var freed = plan?.hostsFreed ?? []
        if freed.count > Int(UInt16.max) { freed = Array(freed.prefix(Int(UInt16.max))) }
        return ConsolidationReply(
            policy: plan?.policy ?? policy,
            started: started,
            reason: reason,
            moves: moves,
            hostsFreed: freed,
            costBytes: wholeBytes(plan?.costBytes ?? 0),
            costSeconds: plan?.costSeconds ?? 0,
            hostsUsedBefore: UInt32(clamping: plan?.hostsUsedBefore ?? 0),
            hostsUsedAfter: UInt32(clamping: plan?.hostsUsedAfter ?? 0),
            hostsLowerBound: UInt32(clamping: plan?.hostsLowerBound ?? 0),
            moveCount: UInt32(clamping: plan?.moves.count ?? 0)
        )
    }

    /// Bytes as a whole number: 0 for a negative or non-finite estimate, saturating far past any real amount.
    static func wholeBytes(_ value: Double) -> UInt64 {
        guard value.isFinite, value > 0 else { return 0 }
        return value >= 1.8e19 ? .max : UInt64(value)
    }
}
