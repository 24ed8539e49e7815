import Foundation
import Logging
import Placement
import Wire

/// A group leader's refusal of a migration: nothing was recorded or reserved. `code` is what a CommandResult
/// carries (`notFound`, `conflict`, `invalidArgument`); `message` names the problem.
public struct MigrationRequestError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: CommandResult.Code
    public var message: String

    public var description: String { message }
}

/// How many migrations move into and out of one host (waiting ones included).
public struct HostMigrations: Equatable, Sendable {
    public var incoming: Int
    public var outgoing: Int
}

/// What the leader keeps about a migration task while it runs, beyond the machine's move: the record shown to
/// status requests (every progress push, written to the store at most every `progress_write_interval`), the final
/// push, a cancellation it asked for, and the runner waiting for a slot.
struct MigrationRun: Sendable {
    var record: StoredMigration
    var finalPhase: MigrationProgress.Phase?
    var cancellation: MigrationMachine.Cancellation?
    /// The cancellation reached the source before the migrate command did (answered notFound): sent again until the
    /// source has the migration or the command's answer arrives.
    var cancelPending = false
    var lastPush: ContinuousClock.Instant?
    var lastWrite: ContinuousClock.Instant
    var admitted: CheckedContinuation<Void, Never>?
}

/// Live migration as a task (docs/manager.md, "Migration"). A request is validated and its destination capacity
/// reserved under the decisions lock, then it waits for a slot under the limits, asks the source agent, follows
/// its progress pushes, watches both hosts, and records one outcome. The VM's host in the store changes only on a
/// completed migration.
extension GroupLeader {
    // MARK: Requests

    /// Starts a migration task moving `vm` to `host`; returns its task id at once. Refused, with nothing recorded,
    /// for an unknown VM or host, a VM not running or already migrating, the same host, a destination that is not
    /// awake or has no room after reservations. Over the limits the task waits its turn.
    public func startMigration(
        vm vmName: String,
        to host: String,
        method: VMCommand.Migration.Method = .live,
        reason: String
    ) async throws(MigrationRequestError) -> String {
        try await acceptMigration(vm: vmName, to: host, method: method, reason: reason).id
    }

    /// Hosts with migrations in or out, waiting ones included: the consolidation loop leaves them out of its
    /// snapshots, and the energy saver never puts them to sleep.
    public func hostsWithMigrations() -> [String: HostMigrations] {
        migrations.hostsWithMigrations().mapValues { HostMigrations(incoming: $0.incoming, outgoing: $0.outgoing) }
    }

    func handleMigrate(vm: String, to host: String, method: VMCommand.Migration.Method) async -> WireMessage {
        do {
            return .taskStatus(try await acceptMigration(vm: vm, to: host, method: method, reason: "operator"))
        } catch {
            logger.notice("migration refused", metadata: [.vm: "\(vm)", .host: "\(host)", .error: "\(error)"])
            return .commandResult(CommandResult(code: error.code, message: error.message))
        }
    }

    private func acceptMigration(
        vm vmName: String,
        to requestedHost: String,
        method: VMCommand.Migration.Method,
        reason: String
    ) async throws(MigrationRequestError) -> TaskStatus {
        await lockDecisions()
        defer { unlockDecisions() }
        let vm: StoredVM?
        do {
            vm = try await store.vm(named: vmName)
        } catch {
            throw MigrationRequestError(code: .internalError, message: "\(error)")
        }
        var host = requestedHost
        if host.isEmpty, let vm, vm.state == .running, let source = vm.hostID,
            migrations.move(ofVM: vm.id) == nil
        {
            host = try await chosenDestination(for: vm, leaving: source)
        }
        let destination = await hostFacts(host)
        let facts = vm.map {
            MigrationMachine.VMFacts(id: $0.id, name: $0.name, state: $0.state, hostID: $0.hostID, demand: $0.requested)
        }
        if let refusal = migrations.refusal(
            vmName: vmName,
            vm: facts,
            destinationID: host,
            destination: destination,
            method: method,
            fillLimit: configuration.fillLimit
        ) {
            throw MigrationRequestError(code: refusal.result.code, message: refusal.description)
        }
        // Refusal is nil only for a running VM with a host, and a known method.
        guard let vm, let source = vm.hostID, let storedMethod = StoredMigration.Method(method) else {
            throw MigrationRequestError(code: .internalError, message: "inconsistent migration request")
        }
        if let owner = vmLifecycle.owner(of: vm.id) {
            throw MigrationRequestError(code: .conflict, message: "\(vm.name) is being changed by task \(owner)")
        }
        let action: StoredTask?
        do {
            action = try await liveAction(on: vm)
        } catch {
            throw MigrationRequestError(code: .internalError, message: "\(error)")
        }
        if let action {
            throw MigrationRequestError(
                code: .conflict,
                message: "\(vm.name) is being changed by task \(action.id) (\(action.kind)): migrate it once that ends"
            )
        }
        let record = StoredMigration(
            vmID: vm.id,
            sourceHostID: source,
            destinationHostID: host,
            method: storedMethod,
            reason: reason
        )
        let task = StoredTask(
            id: Self.newTaskID(),
            kind: "migrate",
            vcName: vm.vcName,
            vmName: vm.name,
            outcomes: [StoredTask.Outcome(vm: vm.name, state: .pending, hostID: source, message: "queued")],
            createdAt: Date(),
            detail: "migrating \(vm.name) from \(source) to \(host): queued",
            migration: record
        )
        do {
            try await store.createTask(task)
        } catch {
            throw MigrationRequestError(code: .internalError, message: "\(error)")
        }
        vmLifecycle.claim(vm.id, by: task.id)
        migrationRuns[task.id] = MigrationRun(record: record, lastWrite: .now)
        let move = MigrationMachine.Move(
            taskID: task.id,
            vmID: vm.id,
            vmName: vm.name,
            source: source,
            destination: host,
            demand: vm.requested
        )
        let startable = migrations.accept(move)
        logger.notice(
            "migration accepted",
            metadata: [
                .task: "\(task.id)", .vm: "\(vm.name)", .hosts: "\(source)->\(host)", .reason: "\(reason)",
            ]
        )
        admit(startable)
        await publishManagement(.migrate, .pending, vm: vm)
        enqueue.yield(.task(task.id))
        return task.wireStatus
    }

    /// Where the configured placement policy would put `vm` among the awake hosts it may migrate to (connected, in
    /// service, whose agent announced live migration and a URI), counting what other migrations hold there; refused
    /// naming why when none can take it.
    private func chosenDestination(
        for vm: StoredVM,
        leaving source: String
    ) async throws(MigrationRequestError) -> String {
        let candidates = placementTiers(await groupManager.hosts()).filter { host, state in
            state == .active && host.hostID != source && host.capabilities.contains(.liveMigration)
                && !(migrationURIs[host.hostID] ?? "").isEmpty
        }
        let plan: PlacementPlan
        do {
            plan = try await self.plan([vm], on: candidates)
        } catch {
            throw MigrationRequestError(code: .internalError, message: "\(error)")
        }
        guard let destination = plan.assignments.first(where: { $0.vmID == vm.id })?.hostID else {
            let why =
                candidates.isEmpty
                ? "no other host is awake, connected, in service and able to take migrations"
                : plan.unplaced.first?.reason ?? "no host has room"
            throw MigrationRequestError(
                code: .conflict,
                message: "no destination for \(vm.name) outside \(source): \(why)"
            )
        }
        return destination
    }

    /// Task kinds that act on placed VMs: refused while one of their VMs migrates (`submit`), and a migration is
    /// refused while one of them is pending or running on its VM. Starts claim their VMs (`vmLifecycle`).
    static let vmActionKinds: Set<String> = [
        "suspend", "resume", "shutdown", "reboot", "destroy", "remove", "undefine",
    ]

    /// Refuses, whole, a VM action whose VMs include one that migrates. Called under the decisions lock.
    func refuseIfMigrating(kind: String, vmIDs: [String]) throws(ClusterRequestError) {
        guard Self.vmActionKinds.contains(kind), let refusal = migrations.actionRefusal(touching: vmIDs) else { return }
        throw .conflict(refusal)
    }

    /// A pending or running VM action that touches `vm` (by name or cluster-wide).
    private func liveAction(on vm: StoredVM) async throws(ManagerStoreError) -> StoredTask? {
        let live = try await store.tasks(state: .pending) + store.tasks(state: .running)
        return live.first {
            Self.vmActionKinds.contains($0.kind) && $0.vcName == vm.vcName
                && ($0.vmName.isEmpty || $0.vmName == vm.name)
        }
    }

    /// `torpor vm migrate-cancel VM`: a waiting migration ends at once; a running one is cancelled at its source
    /// (MigrationCancel), whose answer this is.
    func cancelMigration(vm vmName: String) async -> CommandResult {
        guard let vm = try? await store.vm(named: vmName) else {
            return CommandResult(code: .notFound, message: "no VM named '\(vmName)'")
        }
        guard let move = migrations.move(ofVM: vm.id) else {
            return CommandResult(code: .notFound, message: "\(vm.name) is not migrating")
        }
        if !move.running {
            migrationRuns[move.taskID]?.cancellation = .requested
            // Ended here, so no slot can start it between now and its runner's turn.
            admit(migrations.end(move.taskID, settleUntil: .now))
            wakeRunner(move.taskID)
            return CommandResult(code: .ok, message: "cancelled the migration of \(vm.name) before it started")
        }
        if migrationRuns[move.taskID]?.record.phase == .waiting {
            // Given its slot, not yet sent: its runner ends it before sending.
            migrationRuns[move.taskID]?.cancellation = .requested
            return CommandResult(code: .ok, message: "cancelled the migration of \(vm.name) before it started")
        }
        if migrationRuns[move.taskID]?.cancellation == nil { migrationRuns[move.taskID]?.cancellation = .requested }
        logger.notice("cancelling a migration", metadata: [.task: "\(move.taskID)", .vm: "\(vm.name)"])
        let result = await groupManager.send(MigrationCancel(vmName: vm.name), to: move.source)
        if result.code == .notFound, migrationRuns[move.taskID]?.finalPhase == nil {
            // The migrate command is still on its way to the source: the cancel is remembered and sent again.
            migrationRuns[move.taskID]?.cancelPending = true
            return CommandResult(
                code: .ok,
                message: "cancelling the migration of \(vm.name) as soon as \(move.source) has started it"
            )
        }
        return result
    }

    /// Sends again a cancel the source answered notFound (the migrate command had not reached it yet); stops once
    /// the source answers otherwise. Called by the watcher while the command is outstanding.
    private func retryPendingCancel(_ move: MigrationMachine.Move) async {
        guard migrationRuns[move.taskID]?.cancelPending == true else { return }
        let result = await groupManager.send(MigrationCancel(vmName: move.vmName), to: move.source)
        guard result.code != .notFound else { return }
        migrationRuns[move.taskID]?.cancelPending = false
        logger.notice(
            "pending migration cancel delivered",
            metadata: [.task: "\(move.taskID)", .vm: "\(move.vmName)", .detail: "\(result.code): \(result.message)"]
        )
    }

    // MARK: The task

    /// Runs a migration task, from a fresh acceptance or resumed after a manager restart.
    func runMigration(_ stored: StoredTask) async {
        var task = stored
        guard var record = task.migration else {
            task.state = .failed
            await saveMigration(&task, detail: "no migration record", record: nil)
            return
        }
        let vmName = task.vmName
        if migrations.moves[task.id] == nil {
            // Cancelled before its runner got here, or resumed after a manager restart.
            if migrationRuns[task.id]?.cancellation == .requested {
                await conclude(&task, .aborted("cancelled before it started; \(vmName) runs on \(record.sourceHostID)"))
                return
            }
            guard await registerResumed(&task, record: record) else { return }
        }
        if migrationRuns[task.id] == nil { migrationRuns[task.id] = MigrationRun(record: record, lastWrite: .now) }
        task.state = .running

        // A move found already asked of its source (the manager restarted mid-way): only the hosts can say how
        // it ended.
        if record.phase != .waiting {
            let ending = await endingFromInventories(
                task.id,
                why: "the manager restarted during the migration"
            )
            await conclude(&task, ending)
            return
        }

        // Waiting for a slot.
        if migrations.moves[task.id]?.running == false {
            let why = migrations.waitReason(task.id) ?? "waiting for its turn"
            setMigrationOutcome(&task, .pending, host: record.sourceHostID, "waiting: \(why)")
            await saveMigration(&task, detail: "migrating \(vmName): waiting (\(why))", record: record)
            await withCheckedContinuation { continuation in
                if migrations.moves[task.id]?.running == false {
                    migrationRuns[task.id]?.admitted = continuation
                } else {
                    continuation.resume()
                }
            }
        }
        guard let move = migrations.moves[task.id] else {
            // Cancelled while it waited.
            await conclude(&task, .aborted("cancelled before it started; \(vmName) runs on \(record.sourceHostID)"))
            return
        }

        // Looked at again now: the destination may have gone down, the VM stopped, while the move waited.
        await lockDecisions()
        let destination = await hostFacts(move.destination)
        let vm = try? await store.vm(id: move.vmID)
        unlockDecisions()
        if let destination, destination.availability != .active {
            let refusal = MigrationMachine.Refusal.unavailable(host: move.destination, destination.availability)
            await conclude(&task, .failed("not started: \(refusal)"))
            return
        }
        guard let destination else {
            await conclude(&task, .failed("not started: \(MigrationMachine.Refusal.unknownHost(move.destination))"))
            return
        }
        guard let vm, vm.state == .running, vm.hostID == move.source else {
            let now = vm.map { "\($0.state.rawValue) on \($0.hostID ?? "no host")" } ?? "gone"
            await conclude(&task, .failed("not started: \(vmName) is \(now), no longer running on \(move.source)"))
            return
        }

        record = migrationRuns[task.id]?.record ?? record
        record.phase = .starting
        record.startedAt = Date()
        setMigrationOutcome(&task, .inProgress, host: move.source, "migrating to \(move.destination)")
        await saveMigration(
            &task,
            detail: "migrating \(vmName) from \(move.source) to \(move.destination)",
            record: record
        )
        // A cancel that came meanwhile found the run still `waiting` and was answered ok: honoured here.
        if migrationRuns[task.id]?.cancellation == .requested {
            await conclude(&task, .aborted("cancelled before it started; \(vmName) runs on \(move.source)"))
            return
        }
        // From here, with no suspension before the command goes out, a cancel goes to the source.
        migrationRuns[task.id]?.record = record
        logger.notice(
            "migration started",
            metadata: [.task: "\(task.id)", .vm: "\(vmName)", .hosts: "\(move.source)->\(move.destination)"]
        )
        let command = VMCommand.migrate(
            VMCommand.Migration(
                name: vmName,
                destinationURI: destination.migrationURI,
                method: record.method.wire,
                timeoutSeconds: UInt32(clamping: configuration.migration.timeout.components.seconds)
            )
        )
        beginCommand(move.source)
        beginCommand(move.destination)
        let answer = await sendWatching(command, move: move)
        endCommand(move.source)
        endCommand(move.destination)

        var ending: MigrationMachine.Ending
        switch answer {
        case .result(let result):
            let run = migrationRuns[task.id]
            ending = MigrationMachine.ending(
                result: result,
                finalPhase: run?.finalPhase,
                cancellation: run?.cancellation,
                source: move.source
            )
        case .sourceLost(let why):
            ending = .fromInventories(why)
        }
        if case .fromInventories(let why) = ending {
            logger.warning(
                "migration outcome unknown; waiting for the hosts' inventories",
                metadata: [.task: "\(task.id)", .vm: "\(vmName)", .reason: "\(why)"]
            )
            ending = await endingFromInventories(task.id, why: why)
        }
        await conclude(&task, ending)
    }

    /// Registers a migration task the machine does not know: one resumed after a manager restart. A waiting one is
    /// validated again (hosts may have changed meanwhile); one already asked of its source holds its slot at once.
    /// False when the task ended here.
    private func registerResumed(_ task: inout StoredTask, record: StoredMigration) async -> Bool {
        await lockDecisions()
        let vm = try? await store.vm(id: record.vmID)
        guard let vm else {
            unlockDecisions()
            await conclude(&task, .failed("\(task.vmName) no longer exists"), registered: false)
            return false
        }
        let move = MigrationMachine.Move(
            taskID: task.id,
            vmID: vm.id,
            vmName: vm.name,
            source: record.sourceHostID,
            destination: record.destinationHostID,
            demand: vm.requested
        )
        if record.phase == .waiting {
            if ContinuousClock.now < rejoinDeadline {
                unlockDecisions()
                // Hosts are still rejoining after the restart: look at them once they had the chance.
                try? await Task.sleep(until: rejoinDeadline, clock: .continuous)
                await lockDecisions()
            }
            let destination = await hostFacts(record.destinationHostID)
            let facts = MigrationMachine.VMFacts(
                id: vm.id,
                name: vm.name,
                state: vm.state,
                hostID: vm.hostID,
                demand: vm.requested
            )
            if let refusal = migrations.refusal(
                vmName: vm.name,
                vm: facts,
                destinationID: record.destinationHostID,
                destination: destination,
                method: record.method.wire,
                fillLimit: configuration.fillLimit
            ) {
                unlockDecisions()
                await conclude(&task, .failed("not started after the manager restarted: \(refusal)"), registered: false)
                return false
            }
            vmLifecycle.claim(vm.id, by: task.id)
            migrationRuns[task.id] = MigrationRun(record: record, lastWrite: .now)
            let startable = migrations.accept(move)
            unlockDecisions()
            admit(startable)
        } else {
            vmLifecycle.claim(vm.id, by: task.id)
            migrationRuns[task.id] = MigrationRun(record: record, lastWrite: .now)
            migrations.resume(move)
            unlockDecisions()
        }
        return true
    }

    enum MigrationAnswer: Sendable {
        case result(CommandResult)
        /// The source's agent went away before it answered.
        case sourceLost(String)
    }

    /// Sends the migrate command to the source and, until it answers, watches both hosts: a destination whose
    /// agent goes away gets the migration cancelled at the source (the VM stays there); a source that goes away
    /// leaves the answer to the inventories.
    private func sendWatching(_ command: VMCommand, move: MigrationMachine.Move) async -> MigrationAnswer {
        let groupManager = self.groupManager
        return await withTaskGroup(of: MigrationAnswer?.self) { group in
            group.addTask { .result(await groupManager.send(command, to: move.source)) }
            group.addTask { await self.watchHosts(of: move) }
            var answer: MigrationAnswer?
            // The first answer counts: once the source is lost, the cancelled command's own end says nothing.
            for await event in group {
                guard let event, answer == nil else { continue }
                answer = event
                group.cancelAll()
            }
            return answer ?? .result(CommandResult(code: .notDelivered, message: "the migration was cancelled"))
        }
    }

    /// Polls the move's hosts until the source goes away (returned) or the task is cancelled (nil). A lost
    /// destination is cancelled at the source once, and watching goes on for the source's answer.
    private func watchHosts(of move: MigrationMachine.Move) async -> MigrationAnswer? {
        var destinationHandled = false
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(250))
            guard !Task.isCancelled else { return nil }
            let hosts = await groupManager.hosts()
            let source = hosts.first { $0.hostID == move.source }
            if source?.connected != true || source?.state == .failed {
                return .sourceLost("the source \(move.source)'s agent went away mid-migration")
            }
            await retryPendingCancel(move)
            guard !destinationHandled else { continue }
            let destination = hosts.first { $0.hostID == move.destination }
            if destination?.connected != true || destination?.state == .failed {
                destinationHandled = true
                let state = destination.map { $0.connected ? "\($0.state)" : "disconnected" } ?? "gone"
                let reason =
                    "the destination \(move.destination)'s agent went away mid-migration (\(state)); "
                    + "cancelled, \(move.vmName) runs on \(move.source)"
                migrationRuns[move.taskID]?.cancellation = .destinationLost(reason)
                logger.error(
                    "migration destination lost; cancelling at the source",
                    metadata: [.task: "\(move.taskID)", .vm: "\(move.vmName)", .host: "\(move.destination)"]
                )
                let result = await groupManager.send(MigrationCancel(vmName: move.vmName), to: move.source)
                if result.code == .notFound { migrationRuns[move.taskID]?.cancelPending = true }
                if !result.isOK {
                    logger.warning(
                        "migration cancel not accepted",
                        metadata: [.task: "\(move.taskID)", .error: "\(result.code): \(result.message)"]
                    )
                }
            }
        }
        return nil
    }

    /// How a move whose answer was lost ended: a final progress push if one arrives, else both hosts' inventories
    /// once the source is back and no push has come for a heartbeat timeout. Fails naming the host when the source
    /// does not return within `outcome_wait`.
    private func endingFromInventories(_ taskID: String, why: String) async -> MigrationMachine.Ending {
        guard let move = migrations.moves[taskID] else { return .failed(why) }
        let lostAt = ContinuousClock.now
        let quiet = configuration.heartbeatTimeout
        let deadline = lostAt + configuration.migration.outcomeWait
        var lastSeen: (source: VMState?, destination: VMState?)?
        while ContinuousClock.now < deadline, !Task.isCancelled {
            if let final = migrationRuns[taskID]?.finalPhase {
                return MigrationMachine.ending(
                    result: .ok(),
                    finalPhase: final,
                    cancellation: migrationRuns[taskID]?.cancellation,
                    source: move.source
                )
            }
            let now = ContinuousClock.now
            let lastHeard = max(lostAt, migrationRuns[taskID]?.lastPush ?? lostAt)
            if now - lastHeard >= quiet,
                let source = await groupManager.inventory(of: move.source),
                let destination = await groupManager.inventory(of: move.destination)
            {
                let state: (Inventory) -> VMState? = { inventory in
                    inventory.vms.first { "\($0.uuid)".lowercased() == move.vmID }?.state
                }
                lastSeen = (state(source), state(destination))
                if let ending = MigrationMachine.settledEnding(
                    vm: move.vmName,
                    source: move.source,
                    sourceState: lastSeen?.source,
                    destination: move.destination,
                    destinationState: lastSeen?.destination,
                    why: why
                ) {
                    return ending
                }
            }
            try? await Task.sleep(for: .milliseconds(250))
        }
        guard let lastSeen else {
            return .failed("\(why); \(move.source) did not report within \(configuration.migration.outcomeWait)")
        }
        // Still under way by the inventories when the wait ran out: say so; the VM stays recorded on the source
        // until an inventory shows it elsewhere.
        return .failed(
            "\(why); still under way by the inventories after \(configuration.migration.outcomeWait) "
                + "(\(move.source): \(lastSeen.source.map { "\($0)" } ?? "absent"), "
                + "\(move.destination): \(lastSeen.destination.map { "\($0)" } ?? "absent"))"
        )
    }

    /// Records the one outcome: the VM's host in the store on completion, the slot and reservation freed, the
    /// task ended with its steps.
    private func conclude(_ task: inout StoredTask, _ ending: MigrationMachine.Ending, registered: Bool = true) async {
        let run = migrationRuns.removeValue(forKey: task.id)
        var record = run?.record ?? task.migration
        let source = record?.sourceHostID ?? ""
        let destination = record?.destinationHostID ?? ""
        let vmID = record?.vmID ?? ""
        let settleUntil = ContinuousClock.now + configuration.heartbeatTimeout
        await lockDecisions()
        let detail: String
        switch ending {
        case .completed:
            try? await store.setVMPlacement(id: vmID, hostID: destination, state: .running)
            vmLifecycle.commandEnded(vmID, by: task.id, state: .running, hostID: destination, at: .now)
            record?.phase = .completed
            task.state = .succeeded
            let took = record?.elapsedMilliseconds ?? 0
            let message = "running on \(destination)"
            setMigrationOutcome(&task, .done, host: destination, message)
            detail =
                "migrated \(task.vmName) from \(source) to \(destination)"
                + (took > 0 ? " in \(String(format: "%.1f", Double(took) / 1000)) s" : "")
        case .aborted(let reason):
            vmLifecycle.commandEnded(vmID, by: task.id, state: .running, hostID: source, at: .now)
            record?.phase = .aborted
            task.state = .failed
            setMigrationOutcome(&task, .failed, host: source, reason)
            detail = "\(task.vmName) not migrated: \(reason)"
        case .failed(let reason), .fromInventories(let reason):
            vmLifecycle.release(vmID, by: task.id)
            record?.phase = .failed
            task.state = .failed
            setMigrationOutcome(&task, .failed, host: source, reason)
            detail = "\(task.vmName) not migrated: \(reason)"
        }
        metrics.taskEnded(kind: task.kind, outcome: task.state.rawValue)
        switch ending {
        case .completed:
            let took = record?.elapsedMilliseconds ?? 0
            metrics.migrationEnded(outcome: "completed", took: took > 0 ? .milliseconds(took) : nil)
        case .aborted: metrics.migrationEnded(outcome: "aborted", took: nil)
        case .failed, .fromInventories: metrics.migrationEnded(outcome: "failed", took: nil)
        }
        let startable = registered ? migrations.end(task.id, settleUntil: settleUntil) : []
        unlockDecisions()
        notifyReleased(vmID)
        admit(startable)
        if registered, !source.isEmpty {
            // Once the end has settled, both hosts' latest inventories count again.
            for host in [source, destination] { enqueue.yield(.recheck(host, at: settleUntil + .milliseconds(50))) }
        }
        await saveMigration(&task, detail: detail, record: record)
        if let vm = try? await store.vm(id: vmID) {
            await publishManagement(.migrate, task.state == .succeeded ? .processed : .error, vm: vm)
        }
        logger.notice(
            "migration ended",
            metadata: [
                .task: "\(task.id)", .vm: "\(task.vmName)", .hosts: "\(source)->\(destination)",
                .phase: "\(record?.phase.rawValue ?? "failed")", .detail: "\(detail)",
            ]
        )
    }

    // MARK: Progress

    /// An agent's MigrationProgress: the move it belongs to (by source and VM) takes its counters, phase and
    /// steps. Status requests see it at once; the store gets it at most every `progress_write_interval`, and
    /// always the final one.
    public func migrationProgress(_ progress: MigrationProgress, from hostID: String) async {
        guard
            let move = migrations.moves.values.first(where: {
                $0.source == hostID && $0.vmName == progress.vmName && $0.running
            }),
            var run = migrationRuns[move.taskID]
        else { return }
        let now = ContinuousClock.now
        run.record.apply(progress)
        run.lastPush = now
        if progress.phase.isFinal { run.finalPhase = progress.phase }
        let write = progress.phase.isFinal || now - run.lastWrite >= configuration.migration.progressWriteInterval
        if write { run.lastWrite = now }
        migrationRuns[move.taskID] = run
        taskChanged(move.taskID)
        guard write, var task = try? await store.task(id: move.taskID), task.state == .running else { return }
        // The read above let the actor run the move's end, which saved the task ended: writing the running task
        // read before it would put it back to running for good (seen: a migrate CLI waiting 400 s on a task the
        // log said had ended). The end removes the run first.
        guard migrationRuns[move.taskID] != nil else { return }
        await saveMigration(&task, detail: task.detail, record: run.record)
    }

    // MARK: Helpers

    /// The migration URIs the store kept from hosts' last announcements, for hosts that have not announced one
    /// since this manager started: migrations to them work before their agents rejoin.
    func restoreMigrationURIs() async {
        do {
            for (host, uri) in try await store.migrationURIs() where migrationURIs[host] == nil {
                migrationURIs[host] = uri
            }
        } catch {
            logger.error("cannot read hosts' migration URIs", metadata: [.error: "\(error)"])
        }
    }

    /// Wakes the runners of moves the machine just started.
    func admit(_ taskIDs: [String]) {
        for id in taskIDs { wakeRunner(id) }
    }

    private func wakeRunner(_ taskID: String) {
        migrationRuns[taskID]?.admitted?.resume()
        migrationRuns[taskID]?.admitted = nil
    }

    /// The destination as a migration sees it: its power, its capacity, what the VMs placed there asked for, and
    /// the URI its agent announced. Nil for a host the group manager does not know.
    func hostFacts(_ id: String) async -> MigrationMachine.HostFacts? {
        guard let host = await groupManager.hosts().first(where: { $0.hostID == id }) else { return nil }
        let availability: MigrationMachine.Availability =
            if let cordon = cordons[id] {
                .cordoned(reason: cordon.reason)
            } else if let problem = host.hypervisorProblem, host.connected, host.state == .active,
                power[id]?.state ?? .active == .active
            {
                .hypervisorUnreachable(problem: problem)
            } else {
                switch (power[id]?.state, host.state, host.connected) {
                case (.sleeping?, _, true): .goingDown
                case (.sleeping?, _, false): .asleep
                case (.waking?, _, _): .waking
                case (.failed?, _, _), (_, .failed, _): .failed
                case (_, .sleeping, _): host.connected ? .goingDown : .asleep
                case (_, .waking, _): .waking
                case (_, .active, false): .disconnected
                case (_, .active, true): .active
                }
            }
        let placed = ((try? await store.vms(onHost: id)) ?? [])
            .filter { [.starting, .running, .suspended].contains($0.state) }
            .reduce(ResourceVector.zero) { $0 + $1.requested }
        return MigrationMachine.HostFacts(
            id: id,
            availability: availability,
            capacity: ResourceVector(
                cpuCores: Double(host.capacity.cores),
                memoryBytes: Double(host.capacity.memoryBytes),
                networkRxBytesPerSecond: Double(host.capacity.nicRxBytesPerSecond),
                networkTxBytesPerSecond: Double(host.capacity.nicTxBytesPerSecond)
            ),
            placed: placed,
            migrationURI: migrationURIs[id] ?? ""
        )
    }

    private func setMigrationOutcome(
        _ task: inout StoredTask,
        _ state: StoredTask.Outcome.State,
        host: String,
        _ message: String
    ) {
        let outcome = StoredTask.Outcome(vm: task.vmName, state: state, hostID: host, message: message)
        if task.outcomes.isEmpty { task.outcomes = [outcome] } else { task.outcomes[0] = outcome }
    }

    /// Writes the task with its migration record and wakes its status requests.
    private func saveMigration(
        _ task: inout StoredTask,
        detail: String,
        record: StoredMigration?
    ) async {
        task.detail = detail
        task.updatedAt = Date()
        if let record { task.migration = record }
        do {
            if let migration = task.migration {
                try await store.updateMigrationTask(
                    id: task.id,
                    state: task.state,
                    detail: detail,
                    outcomes: task.outcomes,
                    migration: migration
                )
            } else {
                try await store.updateTask(id: task.id, state: task.state, detail: detail, outcomes: task.outcomes)
            }
            taskChanged(task.id)
        } catch {
            logger.error("cannot record migration progress", metadata: [.task: "\(task.id)", .error: "\(error)"])
        }
    }
}

extension VMCommand {
    /// How long the manager waits for an agent's answer: a migration takes as long as its watchdog allows (the
    /// command's `timeoutSeconds` plus its escalation steps, or the agent's own deadline per GiB, unknown here),
    /// and the leader watches both hosts meanwhile; other commands get `timeout`.
    func replyTimeout(default timeout: Duration) -> Duration {
        guard case .migrate(let migration) = self else { return timeout }
        guard migration.timeoutSeconds > 0 else { return .seconds(24 * 3600) }
        return .seconds(Int64(migration.timeoutSeconds)) + .seconds(900)
    }
}
