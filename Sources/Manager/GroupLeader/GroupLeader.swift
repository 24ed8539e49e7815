import Energy
import Foundation
import Logging
import Placement
import Wire

/// The group leader role: owns virtual clusters, VMs, tasks and addresses (durably, in the store), places VMs on
/// the hosts of its group manager, and reconciles what agents report with what it was asked to do.
///
/// Changes run as tasks: a request is validated and recorded before it is answered with a task id, and tasks not
/// finished when the manager stopped run again when it starts. Starting a VM records the chosen host before the
/// agent is asked, and the agent's start is idempotent, so a replayed start never makes a second copy.
public actor GroupLeader {
    let store: ManagerStore
    let groupManager: any GroupManagerEndpoint
    let configuration: ManagerConfiguration
    let logger: Logger
    let diskExists: @Sendable (String) -> Bool
    /// Restored from the store's leases on first use (`restoreAddresses()`), not in `init`, which cannot await.
    var addresses: AddressPool
    var addressesRestored = false
    var roundRobinStart = 0
    /// Held around every read-decide-write of VM and host power state (placement and claims, reconciliation,
    /// energy decisions): store calls suspend, and without it two tasks could plan on the same free capacity.
    var decisionsLocked = false
    var decisionWaiters: [CheckedContinuation<Void, Never>] = []
    /// After start-up, plans wait for hosts the database knew as ACTIVE to rejoin, so work submitted right after a
    /// restart or a failover is not refused for want of hosts that are only reconnecting.
    var rejoinWindow: RejoinWindow
    /// Waiting migrations look at their hosts once this first quiet period after start-up has passed.
    var rejoinDeadline: ContinuousClock.Instant { rejoinWindow.opened + rejoinWindow.quiet }
    /// Energy: each host's power machine (asleep, waking, idle since, commands in flight), the policy's carried
    /// state, and the origin its times are measured from.
    var power: [String: HostPowerMachine] = [:]
    /// The power state last handed to the store for each host (none: ACTIVE), so a restarted manager knows which
    /// hosts sleep (`restoreSleepingHosts`).
    var storedPowerStates: [String: HostRecord.State] = [:]
    var energyState = EnergyPolicy.State()
    let origin = ContinuousClock.now
    /// Which live task owns each VM, and which command results are still settling.
    var vmLifecycle: VMLifecycleMachine
    /// Errors found about a VM while a task's command for it was in flight (running on two hosts): that task's
    /// outcome for the VM.
    var vmAlerts: [String: String] = [:]
    var releaseWaiters: [String: [CheckedContinuation<Void, Never>]] = [:]
    /// Hosts whose latest inventory will be reconciled again once a command result it contradicted has settled.
    var pendingRechecks: Set<String> = []
    /// Waiters for a task's next change, by task id.
    var taskWatchers: [String: [UUID: AsyncStream<Void>.Continuation]] = [:]
    /// Powers a FAILED host off before its VMs are started elsewhere; nil: no fencing driver, no restart elsewhere.
    let fencing: (any HostFencing)?
    /// Callers waiting for the outcome of a fence under way, by host: a host is fenced once at a time.
    var fencesInFlight: [String: [CheckedContinuation<HostFencingOutcome, Never>]] = [:]
    /// Migrations: accepted moves, their slots and reservations (`MigrationMachine`), what each running one has
    /// reported, and the libvirt URI each host's agent announced for incoming migrations.
    var migrations: MigrationMachine
    var migrationRuns: [String: MigrationRun] = [:]
    var migrationURIs: [String: String] = [:]
    /// Tasks being executed now (`execute(taskID:)`), so that one queued twice runs once.
    var executingTaskIDs: Set<String> = []
    /// Hosts taken out of service for maintenance (`torpor host cordon`), as the store records them.
    var cordons: [String: HostCordon] = [:]
    /// Tasks, wakes, sleeps and migrations are counted as they end (docs/metrics.md).
    let metrics: ManagerMetrics
    /// Reservations and their ends (docs/reservations.md), loaded from the store on first use.
    var reservationMachine: ReservationMachine
    var reservationsLoaded = false
    /// Wall-clock time, which reservations end by; injected so tests decide it.
    let wallClock: @Sendable () -> Date
    /// Whether a BMC reports chassis power on (nil: no answer); `IPMIFenceDriver.chassisPowerIsOn` unless a test
    /// injects one.
    let chassisPower: @Sendable (HostWakeConfiguration.BMCAccess) async -> Bool?
    /// Where Snooze's notifications of what the leader does are published (docs/snooze-api.md, "Events").
    public let events: EventBus
    let queue: AsyncStream<Work>
    let enqueue: AsyncStream<Work>.Continuation

    /// Work the leader runs in the background of `run()`: tasks, and what the energy saver, the reconciliation and
    /// failure handling decided, so none of them waits for it.
    enum Work: Sendable {
        case task(String)
        case powerDown(String, PowerAction, reason: String)
        case wake(String)
        case recheck(String, at: ContinuousClock.Instant)
        case evacuate(String)
        /// Write the host's power state as it is by then (`storedPowerStates`).
        case storePowerState(String)
        /// After the rejoin window, ask the BMCs of hosts that did not come back whether they are off.
        case trackPoweredOffHosts
    }

    /// The longest a task status request waits for the task to end (`TaskStatus` wait): longer waits are cut to it,
    /// and the client asks again.
    public static let maximumTaskWait: Duration = .seconds(600)

    /// Tasks that would run a cluster's VMs, refused once its reservation ended.
    static let kindsRefusedAfterReservation: Set<String> = ["start", "resume", "reboot", "boot"]

    /// The cluster VMs found on hosts but unknown to the database are adopted into.
    public static let adoptedCluster = "adopted"

    public init(
        store: ManagerStore,
        groupManager: any GroupManagerEndpoint,
        configuration: ManagerConfiguration,
        logger: Logger,
        diskExists: @escaping @Sendable (String) -> Bool = { FileManager.default.fileExists(atPath: $0) },
        fencing: (any HostFencing)? = nil,
        metrics: ManagerMetrics = .none,
        events: EventBus = EventBus(),
        wallClock: @escaping @Sendable () -> Date = { Date() },
        chassisPower: @escaping @Sendable (HostWakeConfiguration.BMCAccess) async -> Bool? = {
            await IPMIFenceDriver(bmc: $0).chassisPowerIsOn()
        }
    ) throws {
        self.events = events
        self.wallClock = wallClock
        self.chassisPower = chassisPower
        self.reservationMachine = ReservationMachine(limits: configuration.reservations.limits)
        self.store = store
        self.groupManager = groupManager
        self.configuration = configuration
        self.logger = logger
        self.diskExists = diskExists
        self.addresses = try AddressPool(subnets: configuration.vmSubnets, reserved: configuration.reservedAddresses)
        self.rejoinWindow = RejoinWindow(
            opened: .now,
            quiet: configuration.heartbeatTimeout * 2,
            maximum: configuration.heartbeatTimeout * 6
        )
        self.fencing = fencing
        self.metrics = metrics
        // An agent's inventory can be sampled while a command runs: trust the command's result for a heartbeat
        // timeout, in which the agent has sampled again (it samples every few seconds).
        self.vmLifecycle = VMLifecycleMachine(settleTime: configuration.heartbeatTimeout)
        self.migrations = MigrationMachine(limits: configuration.migration.limits)
        (queue, enqueue) = AsyncStream.makeStream(of: Work.self)
    }

    /// Runs tasks: first those a previous run left unfinished, then each new one as it is submitted, concurrently.
    public func run() async {
        await announceLeadership()
        await restoreMigrationURIs()
        await restoreCordons()
        await restoreSleepingHosts()
        enqueue.yield(.trackPoweredOffHosts)
        do {
            try await restoreAddresses()
        } catch {
            logger.error("cannot restore address leases", metadata: [.error: "\(error)"])
        }
        do {
            let unfinished = try await store.tasks(state: .pending) + store.tasks(state: .running)
            for task in unfinished.sorted(by: { $0.createdAt < $1.createdAt }) {
                logger.notice(
                    "resuming unfinished task",
                    metadata: [
                        .task: "\(task.id)", .kind: "\(task.kind)", .vc: "\(task.vcName)",
                    ]
                )
                enqueue.yield(.task(task.id))
            }
        } catch {
            logger.error("cannot read unfinished tasks", metadata: [.error: "\(error)"])
        }
        await withDiscardingTaskGroup { group in
            for await work in queue {
                switch work {
                case .task(let id):
                    group.addTask { await self.execute(taskID: id) }
                case .powerDown(let host, let action, let reason):
                    group.addTask { _ = await self.powerDown(host, action: action, reason: reason) }
                case .wake(let host):
                    group.addTask { _ = await self.ensureAwake(host) }
                case .recheck(let host, let instant):
                    group.addTask {
                        try? await Task.sleep(until: instant, clock: .continuous)
                        await self.recheck(host)
                    }
                case .evacuate(let host):
                    group.addTask { await self.evacuate(host) }
                case .storePowerState(let host):
                    group.addTask { await self.storePowerState(host) }
                case .trackPoweredOffHosts:
                    group.addTask { await self.trackPoweredOffHosts() }
                }
            }
        }
    }

    /// Loads the stored leases into the address pool once, before any address is allocated or released.
    func restoreAddresses() async throws {
        guard !addressesRestored else { return }
        let leases = try await store.leases()
        guard !addressesRestored else { return }
        try addresses.restore(leases: leases)
        addressesRestored = true
    }

    /// Waits for, then holds, the right to read, decide and write VM and power state; `unlockDecisions` passes it
    /// on in arrival order.
    func lockDecisions() async {
        guard decisionsLocked else {
            decisionsLocked = true
            return
        }
        await withCheckedContinuation { decisionWaiters.append($0) }
    }

    func unlockDecisions() {
        if decisionWaiters.isEmpty {
            decisionsLocked = false
        } else {
            decisionWaiters.removeFirst().resume()
        }
    }

    // MARK: Requests

    /// The answer to one request from a user: a ClusterReply, a TaskStatus, or a CommandResult naming the error.
    public func handle(_ request: ClusterRequest) async -> WireMessage {
        do throws(ClusterRequestError) {
            switch request {
            case .define(let cluster): return .taskStatus(try await define(cluster))
            case .undefine(let cluster): return .taskStatus(try await submit("undefine", cluster: cluster, vm: ""))
            case .add(let cluster, let vms): return .taskStatus(try await add(vms, to: cluster))
            case .remove(let cluster, let vm):
                guard !vm.isEmpty else { throw .invalid("remove needs a VM name") }
                return .taskStatus(try await submit("remove", cluster: cluster, vm: vm))
            case .act(let action, let cluster, let vm):
                return .taskStatus(try await submit(action.description, cluster: cluster, vm: vm))
            case .info(let cluster): return .clusterReply(try await clusterReply(only: cluster))
            case .list: return .clusterReply(try await clusterReply(only: nil))
            case .vmInfo(let name): return .clusterReply(try await vmReply(name))
            case .task(let id, let wait): return .taskStatus(try await taskStatus(id, waitMilliseconds: wait))
            case .migrate(let vm, let host, let method): return await handleMigrate(vm: vm, to: host, method: method)
            case .migrateCancel(let vm): return .commandResult(await cancelMigration(vm: vm))
            case .consolidate:
                // The consolidation loop answers it (ControlSession); a manager without one refuses it here.
                return .commandResult(
                    CommandResult(code: .unsupported, message: "this manager does not run consolidation")
                )
            case .flavorList, .imageList: return .catalogReply(try await catalogReply())
            case .flavorCreate(let spec): return .catalogReply(try await createFlavor(spec))
            case .flavorDelete(let name): return .commandResult(try await deleteFlavor(name))
            case .imageAdd(let name, let path): return .catalogReply(try await addImage(name: name, path: path))
            case .imageRemove(let name): return .commandResult(try await removeImage(name))
            case .addFromImage(let cluster, let vms): return .taskStatus(try await addFromImage(vms, to: cluster))
            case .bootPragma(let boot): return .taskStatus(try await bootPragma(boot))
            case .reserve(let cluster, let until):
                return .clusterReply(try await reserve(cluster: cluster, untilUnixMilliseconds: until))
            case .renewReservation(let cluster, let until):
                return .clusterReply(try await renewReservation(cluster: cluster, untilUnixMilliseconds: until))
            case .releaseReservation(let cluster): return .clusterReply(try await releaseReservation(cluster: cluster))
            case .cordon(let host, let reason): return .commandResult(await cordon(host, reason: reason))
            case .uncordon(let host): return .commandResult(await uncordon(host))
            case .removeHost(let host, let confirmedOff):
                return .commandResult(await removeHost(host, confirmedOff: confirmedOff))
            }
        } catch {
            logger.notice("request refused", metadata: [.error: "\(error)"])
            return .commandResult(error.result)
        }
    }

    private func define(_ cluster: String) async throws(ClusterRequestError) -> TaskStatus {
        guard DomainTemplate.isValidName(cluster) else {
            throw .invalid("'\(cluster)' is not a valid cluster name (1–64 of A–Z a–z 0–9 . _ -)")
        }
        do {
            try await store.defineVirtualCluster(cluster)
            let task = StoredTask(
                id: Self.newTaskID(),
                kind: "define",
                vcName: cluster,
                state: .succeeded,
                createdAt: Date(),
                detail: "defined virtual cluster \(cluster)"
            )
            try await store.createTask(task)
            metrics.taskEnded(kind: task.kind, outcome: task.state.rawValue)
            logger.notice("virtual cluster defined", metadata: [.vc: "\(cluster)"])
            return task.wireStatus
        } catch {
            throw ClusterRequestError(error)
        }
    }

    /// Records a task for an existing cluster (and VM) and queues it.
    func submit(_ kind: String, cluster: String, vm: String) async throws(ClusterRequestError) -> TaskStatus {
        if Self.kindsRefusedAfterReservation.contains(kind),
            let refusal = try await reservationStartRefusal(cluster: cluster)
        {
            throw .conflict(refusal)
        }
        // Under the lock a migration is accepted under: an action never starts on a VM that moves, nor the reverse.
        await lockDecisions()
        defer { unlockDecisions() }
        do {
            guard try await store.virtualClusters().contains(where: { $0.name == cluster }) else {
                throw ClusterRequestError.notFound("no virtual cluster named '\(cluster)'")
            }
            let members = try await store.vms(inCluster: cluster)
            if !vm.isEmpty, !members.contains(where: { $0.name == vm }) {
                throw ClusterRequestError.notFound("virtual cluster '\(cluster)' has no VM named '\(vm)'")
            }
            let targets = vm.isEmpty ? members.map(\.name) : [vm]
            try refuseIfMigrating(kind: kind, vmIDs: members.filter { vm.isEmpty || $0.name == vm }.map(\.id))
            let task = StoredTask(
                id: Self.newTaskID(),
                kind: kind,
                vcName: cluster,
                vmName: vm,
                outcomes: targets.map { StoredTask.Outcome(vm: $0) },
                createdAt: Date(),
                detail: "queued"
            )
            try await store.createTask(task)
            logger.notice(
                "task submitted",
                metadata: [.task: "\(task.id)", .kind: "\(kind)", .vc: "\(cluster)"]
            )
            enqueue.yield(.task(task.id))
            return task.wireStatus
        } catch {
            throw ClusterRequestError(error)
        }
    }

    /// Validates every template, then stores all VMs and their leases in one transaction.
    private func add(
        _ submissions: [ClusterRequest.VMSubmission],
        to cluster: String
    ) async throws(ClusterRequestError) -> TaskStatus {
        guard !submissions.isEmpty else { throw .invalid("no VM to add") }
        do {
            try await restoreAddresses()
            guard try await store.virtualClusters().contains(where: { $0.name == cluster }) else {
                throw ClusterRequestError.notFound("no virtual cluster named '\(cluster)'")
            }
        } catch {
            throw ClusterRequestError(error)
        }
        var parsed: [(DomainTemplate, ClusterRequest.VMSubmission, String)] = []
        var names = Set<String>()
        var uuids = Set<String>()
        let checksDisks = configuration.checkTemplateDisks
        let diskExists = self.diskExists
        let check: (String) -> Bool = { path in checksDisks ? diskExists(path) : true }
        for (index, submission) in submissions.enumerated() {
            let template: DomainTemplate
            do {
                template = try DomainTemplate.parse(
                    submission.templateXML,
                    nameOverride: submission.nameOverride.isEmpty ? nil : submission.nameOverride,
                    diskExists: check
                )
            } catch {
                let which = submission.nameOverride.isEmpty ? "template \(index + 1)" : submission.nameOverride
                throw .invalid("\(which): \(error)")
            }
            let uuid = template.uuid ?? UUID().uuidString.lowercased()
            guard names.insert(template.name).inserted else {
                throw .conflict("the VM name '\(template.name)' appears twice in this request")
            }
            guard uuids.insert(uuid).inserted else {
                throw .conflict("the UUID \(uuid) appears twice in this request")
            }
            parsed.append((template, submission, uuid))
        }
        // Leases are taken from a copy, so a refused request leaves the pool as it was.
        var pool = addresses
        var vms: [StoredVM] = []
        var leases: [Lease] = []
        var outcomes: [StoredTask.Outcome] = []
        for (template, submission, uuid) in parsed {
            let lease: Lease
            do {
                lease = try pool.allocate(for: uuid)
            } catch {
                throw .failed("no address for \(template.name): \(error)")
            }
            leases.append(lease)
            vms.append(
                StoredVM(
                    id: uuid,
                    name: template.name,
                    vcName: cluster,
                    templateXML: template.domainXML(uuid: uuid, mac: lease.mac),
                    networkRx: Int(clamping: submission.networkRxBytesPerSecond),
                    networkTx: Int(clamping: submission.networkTxBytesPerSecond),
                    virtualCPUs: template.virtualCPUs,
                    memoryBytes: Int64(clamping: template.memoryBytes),
                    desiredState: .stopped,
                    state: .pending,
                    highlyAvailable: submission.highlyAvailable
                )
            )
            outcomes.append(.init(vm: template.name, state: .done, message: "added with address \(lease.ip)"))
        }
        // Taken before the store write suspends, so a concurrent add cannot allocate the same addresses; given
        // back if the write fails.
        addresses = pool
        do {
            try await store.addVMs(vms, leases: leases)
        } catch {
            for lease in leases { _ = addresses.release(vmID: lease.vmID) }
            throw ClusterRequestError(error)
        }
        do {
            let task = StoredTask(
                id: Self.newTaskID(),
                kind: "add",
                vcName: cluster,
                outcomes: outcomes,
                state: .succeeded,
                createdAt: Date(),
                detail: "added \(vms.count) VM\(vms.count == 1 ? "" : "s") to \(cluster)"
            )
            try await store.createTask(task)
            metrics.taskEnded(kind: task.kind, outcome: task.state.rawValue)
            logger.notice(
                "VMs added",
                metadata: [.vc: "\(cluster)", .vms: "\(vms.map(\.name).joined(separator: ","))"]
            )
            return task.wireStatus
        } catch {
            throw ClusterRequestError(error)
        }
    }

    func clusterReply(only name: String?) async throws(ClusterRequestError) -> ClusterReply {
        try await loadReservations()
        do {
            var clusters = try await store.virtualClusters()
            if let name {
                clusters = clusters.filter { $0.name == name }
                guard !clusters.isEmpty else {
                    throw ClusterRequestError.notFound("no virtual cluster named '\(name)'")
                }
            }
            let leases = Dictionary(uniqueKeysWithValues: try await store.leases().map { ($0.vmID, $0) })
            let origins = try await vmOrigins()
            var reply = ClusterReply(clusters: [])
            for cluster in clusters {
                reply.clusters.append(
                    ClusterReply.Cluster(
                        name: cluster.name,
                        createdAtUnixMilliseconds: cluster.createdAt.unixMilliseconds,
                        vms: try await store.vms(inCluster: cluster.name).map { vm in
                            var shown = vm.wire(lease: leases[vm.id])
                            shown.origin = origins[vm.id]
                            return shown
                        },
                        reservation: wireReservation(of: cluster.name)
                    )
                )
            }
            return reply
        } catch {
            throw ClusterRequestError(error)
        }
    }

    private func vmReply(_ name: String) async throws(ClusterRequestError) -> ClusterReply {
        do {
            guard let vm = try await store.vm(named: name) else {
                throw ClusterRequestError.notFound("no VM named '\(name)'")
            }
            let cluster = try await store.virtualClusters().first { $0.name == vm.vcName }
            var shown = vm.wire(lease: try await store.lease(vmID: vm.id))
            // Next to what it asked for: what its host's monitoring says it uses (docs/manager.md, "Estimates").
            shown.estimate = await groupManager.estimate(of: vm.id, requested: vm.requested).map(\.wire)
            shown.origin = try await vmOrigins(only: vm.id)[vm.id]
            return ClusterReply(clusters: [
                ClusterReply.Cluster(
                    name: vm.vcName,
                    createdAtUnixMilliseconds: cluster?.createdAt.unixMilliseconds ?? 0,
                    vms: [shown]
                )
            ])
        } catch {
            throw ClusterRequestError(error)
        }
    }

    /// The task's status now, or once it has ended, whichever comes first within the wait (at most
    /// `maximumTaskWait`). Woken by the task's own progress, and every second while a wake it waits for advances.
    private func taskStatus(_ id: String, waitMilliseconds: UInt32) async throws(ClusterRequestError) -> TaskStatus {
        let deadline = ContinuousClock.now + min(.milliseconds(Int64(waitMilliseconds)), Self.maximumTaskWait)
        while true {
            // Watching before reading: a change between the read and the wait is not lost.
            let (changes, watcher) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
            let watcherID = UUID()
            taskWatchers[id, default: [:]][watcherID] = watcher
            defer {
                taskWatchers[id]?[watcherID] = nil
                if taskWatchers[id]?.isEmpty == true { taskWatchers[id] = nil }
                watcher.finish()
            }
            let task: StoredTask
            do {
                guard let found = try await store.task(id: id) else {
                    throw ClusterRequestError.notFound("no task with ID \(id)")
                }
                task = found
            } catch {
                throw ClusterRequestError(error)
            }
            var status = task.wireStatus
            // A running migration shows its latest progress push, written to the store only now and then.
            if let run = migrationRuns[id] { status.migration = run.record.wire }
            // A VM waiting for its host to wake shows how far the wake has got.
            var waking = false
            for index in status.outcomes.indices where status.outcomes[index].state == .inProgress {
                if let progress = wakeProgress(status.outcomes[index].hostID) {
                    waking = true
                    status.outcomes[index].message = progress
                    if status.state == .running { status.message = progress }
                }
            }
            let now = ContinuousClock.now
            if status.state.isFinished || now >= deadline { return status }
            let until = waking ? min(deadline, now + .seconds(1)) : deadline
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in changes { return }
                }
                group.addTask { try? await Task.sleep(until: until, clock: .continuous) }
                await group.next()
                group.cancelAll()
            }
        }
    }

    /// Wakes the requests waiting on the task.
    func taskChanged(_ id: String) {
        for watcher in (taskWatchers[id] ?? [:]).values { watcher.yield() }
    }

    static func newTaskID() -> String {
        "t-" + UUID().uuidString.lowercased().prefix(8)
    }
}

extension Date {
    var unixMilliseconds: UInt64 { UInt64(max(0, (timeIntervalSince1970 * 1000).rounded())) }
}

extension StoredTask {
    var wireStatus: TaskStatus {
        TaskStatus(
            id: id,
            kind: kind,
            cluster: vcName,
            state: state.wire,
            message: detail,
            createdAtUnixMilliseconds: createdAt.unixMilliseconds,
            updatedAtUnixMilliseconds: updatedAt.unixMilliseconds,
            outcomes: outcomes.map {
                TaskStatus.Outcome(vm: $0.vm, state: $0.state.wire, hostID: $0.hostID, message: $0.message)
            },
            migration: migration?.wire
        )
    }
}

extension StoredTask.State {
    var wire: TaskStatus.State {
        switch self {
        case .pending: .pending
        case .running: .running
        case .succeeded: .succeeded
        case .failed: .failed
        }
    }
}

extension StoredTask.Outcome.State {
    var wire: TaskStatus.Outcome.State {
        switch self {
        case .pending: .pending
        case .inProgress: .inProgress
        case .done: .done
        case .failed: .failed
        case .unplaced: .unplaced
        }
    }
}

extension StoredVM {
    func wire(lease: Lease?) -> ClusterReply.VM {
        ClusterReply.VM(
            name: name,
            uuid: id,
            state: state.rawValue,
            desiredState: desiredState.rawValue,
            hostID: hostID ?? "",
            ipAddress: lease.map { "\($0.ip)" } ?? "",
            macAddress: lease?.mac ?? "",
            virtualCPUs: UInt16(clamping: virtualCPUs),
            memoryBytes: UInt64(clamping: memoryBytes),
            networkRxBytesPerSecond: UInt64(clamping: networkRx),
            networkTxBytesPerSecond: UInt64(clamping: networkTx),
            reason: reason ?? ""
        )
    }

    /// What placement reserves for the VM: what it asked for (static estimation).
    var requested: ResourceVector {
        ResourceVector(
            cpuCores: Double(virtualCPUs),
            memoryBytes: Double(memoryBytes),
            networkRxBytesPerSecond: Double(networkRx),
            networkTxBytesPerSecond: Double(networkTx)
        )
    }
}
