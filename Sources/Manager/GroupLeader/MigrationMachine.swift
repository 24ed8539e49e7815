import Placement
import Wire

/// The migrations the group leader runs, as decisions without I/O: whether a request may be accepted, the capacity
/// each one reserves on its destination while it moves, when each may start under the limits per host and per
/// cluster, which inventories to leave alone meanwhile, and how each one ends. The leader runs what it decides
/// (commands, store writes) and feeds back what happened.
struct MigrationMachine: Sendable {
    struct Limits: Equatable, Sendable {
        var outgoingPerHost: Int
        var incomingPerHost: Int
        var perCluster: Int
    }

    /// One migration, from its acceptance to its end.
    struct Move: Equatable, Sendable {
        var taskID: String
        var vmID: String
        var vmName: String
        var source: String
        var destination: String
        /// What the VM asked for: reserved on the destination until the move ends.
        var demand: ResourceVector
        /// Holds a slot under the limits: the source was asked (or a restarted manager found it asked).
        var running = false
    }

    /// A VM whose move just ended: an inventory of either host sampled before the end may still show it where it
    /// was, so its sightings there are left alone until `until`.
    struct Settling: Equatable, Sendable {
        var hosts: Set<String>
        var until: ContinuousClock.Instant
    }

    let limits: Limits
    /// Accepted and not ended, by task id.
    private(set) var moves: [String: Move] = [:]
    /// Task ids of moves waiting for a slot, in acceptance order.
    private(set) var queue: [String] = []
    /// By VM id.
    private(set) var settling: [String: Settling] = [:]

    init(limits: Limits) {
        self.limits = limits
    }

    // MARK: Validation

    /// What the leader knows about the VM to move.
    struct VMFacts: Equatable, Sendable {
        var id: String
        var name: String
        var state: StoredVM.State
        var hostID: String?
        var demand: ResourceVector
    }

    /// What the leader knows about the destination.
    struct HostFacts: Equatable, Sendable {
        var id: String
        var availability: Availability
        var capacity: ResourceVector
        /// What the VMs the store places there asked for.
        var placed: ResourceVector
        /// The libvirt URI its agent announced; empty when it announced none.
        var migrationURI: String
    }

    enum Availability: Equatable, Sendable, CustomStringConvertible {
        case active
        case asleep
        case waking
        case failed
        /// Ordered down (energy saver or operator), or announced going down.
        case goingDown
        /// Its agent's connection is closed.
        case disconnected
        /// Out of service for maintenance (`torpor host cordon`).
        case cordoned(reason: String)
        /// Its agent said its libvirtd does not answer (HypervisorStatus), with what it said.
        case hypervisorUnreachable(problem: String)

        var description: String {
            switch self {
            case .active: "active"
            case .asleep: "asleep"
            case .waking: "waking"
            case .failed: "FAILED"
            case .goingDown: "going down"
            case .disconnected: "not connected"
            case .cordoned(let reason): reason.isEmpty ? "cordoned" : "cordoned (\(reason))"
            case .hypervisorUnreachable(let problem): "without a hypervisor: its libvirtd does not answer (\(problem))"
            }
        }
    }

    /// Why a migration request is refused. Nothing was recorded or reserved.
    enum Refusal: Error, Equatable, Sendable, CustomStringConvertible {
        case unsupportedMethod(VMCommand.Migration.Method)
        case unknownVM(String)
        case notRunning(vm: String, state: StoredVM.State)
        case alreadyMigrating(vm: String, destination: String, taskID: String)
        case unknownHost(String)
        case sameHost(vm: String, host: String)
        case unavailable(host: String, Availability)
        case noMigrationURI(host: String)
        case full(host: String, vm: String, lacking: String)

        var description: String {
            switch self {
            case .unsupportedMethod(let method):
                "the \(method) method is not supported: use live, copy-storage-all or copy-storage-inc"
            case .unknownVM(let name):
                "no VM named '\(name)'"
            case .notRunning(let vm, let state):
                "\(vm) is \(state.rawValue), not running: only a running VM migrates"
            case .alreadyMigrating(let vm, let destination, let taskID):
                "\(vm) is already migrating to \(destination) (task \(taskID))"
            case .unknownHost(let host):
                "no host '\(host)'"
            case .sameHost(let vm, let host):
                "\(vm) already runs on \(host)"
            case .unavailable(let host, .cordoned(let reason)):
                "\(host) is \(MigrationMachine.Availability.cordoned(reason: reason)): no VM is migrated onto it until "
                    + "`torpor host uncordon \(host)`"
            case .unavailable(let host, .hypervisorUnreachable(let problem)):
                "\(host)'s libvirtd does not answer (\(problem)): a VM is migrated only to a host whose libvirtd "
                    + "answers"
            case .unavailable(let host, let availability):
                "\(host) is \(availability): a VM is migrated only to an awake host"
            case .noMigrationURI(let host):
                "\(host)'s agent announced no migration URI (an agent from before migrations)"
            case .full(let host, let vm, let lacking):
                "\(host) is full: \(vm) needs \(lacking) after reservations"
            }
        }

        /// Unknown names are `notFound`; the rest are `conflict`, but for a method that does not exist here.
        var result: CommandResult {
            switch self {
            case .unknownVM, .unknownHost: CommandResult(code: .notFound, message: description)
            case .unsupportedMethod, .sameHost: CommandResult(code: .invalidArgument, message: description)
            default: CommandResult(code: .conflict, message: description)
            }
        }
    }

    /// Checks a request against what the leader knows and the moves under way, in the order an operator fixes
    /// them; nil when it may be accepted.
    func refusal(
        vmName: String,
        vm: VMFacts?,
        destinationID: String,
        destination: HostFacts?,
        method: VMCommand.Migration.Method,
        fillLimit: Double
    ) -> Refusal? {
        guard method != .offline else { return .unsupportedMethod(method) }
        guard let vm else { return .unknownVM(vmName) }
        if let move = moves.values.first(where: { $0.vmID == vm.id }) {
            return .alreadyMigrating(vm: vm.name, destination: move.destination, taskID: move.taskID)
        }
        guard vm.state == .running, let source = vm.hostID else { return .notRunning(vm: vm.name, state: vm.state) }
        guard let destination else { return .unknownHost(destinationID) }
        guard source != destination.id else { return .sameHost(vm: vm.name, host: source) }
        guard destination.availability == .active else {
            return .unavailable(host: destination.id, destination.availability)
        }
        guard !destination.migrationURI.isEmpty else { return .noMigrationURI(host: destination.id) }
        let free = destination.capacity.scaled(by: fillLimit) - destination.placed - reserved(on: destination.id)
        for dimension in ResourceDimension.allCases where vm.demand[dimension] > free[dimension] + 1e-9 {
            let lacking =
                "\(Self.amount(vm.demand[dimension], of: dimension)), and \(destination.id) has "
                + "\(Self.amount(max(0, free[dimension]), of: dimension)) free"
            return .full(host: destination.id, vm: vm.name, lacking: lacking)
        }
        return nil
    }

    // MARK: Admission

    /// Accepts a validated move: its reservation holds from now on. Returns the task ids that may start now.
    mutating func accept(_ move: Move) -> [String] {
        var move = move
        move.running = false
        moves[move.taskID] = move
        queue.append(move.taskID)
        return admit()
    }

    /// A move whose source was already asked before the manager restarted: it holds a slot at once, over the
    /// limits if need be (it runs whether or not we count it).
    mutating func resume(_ move: Move) {
        var move = move
        move.running = true
        moves[move.taskID] = move
        queue.removeAll { $0 == move.taskID }
    }

    /// The move ended, or was given up before it started: its reservation and slot are freed, and the VM's
    /// sightings on both hosts are left alone until `settleUntil`. Returns the task ids that may start now.
    mutating func end(_ taskID: String, settleUntil: ContinuousClock.Instant) -> [String] {
        guard let move = moves.removeValue(forKey: taskID) else { return [] }
        queue.removeAll { $0 == taskID }
        settling[move.vmID] = Settling(hosts: [move.source, move.destination], until: settleUntil)
        return admit()
    }

    /// Starts waiting moves in acceptance order while their hosts and the cluster have slots; one waiting for a
    /// busy host does not hold back one between other hosts.
    private mutating func admit() -> [String] {
        var outgoing: [String: Int] = [:]
        var incoming: [String: Int] = [:]
        var total = 0
        for move in moves.values where move.running {
            outgoing[move.source, default: 0] += 1
            incoming[move.destination, default: 0] += 1
            total += 1
        }
        var started: [String] = []
        for id in queue {
            guard total < limits.perCluster else { break }
            guard let move = moves[id], outgoing[move.source, default: 0] < limits.outgoingPerHost,
                incoming[move.destination, default: 0] < limits.incomingPerHost
            else { continue }
            moves[id]?.running = true
            outgoing[move.source, default: 0] += 1
            incoming[move.destination, default: 0] += 1
            total += 1
            started.append(id)
        }
        queue.removeAll { started.contains($0) }
        return started
    }

    /// Why a waiting move waits, e.g. "2 migrations out of h1 run (max_outgoing_per_host)"; nil when it runs.
    func waitReason(_ taskID: String) -> String? {
        guard let move = moves[taskID], !move.running else { return nil }
        let running = moves.values.filter(\.running)
        if running.count >= limits.perCluster {
            return "\(running.count) migrations run in the cluster (max_per_cluster)"
        }
        let out = running.filter { $0.source == move.source }.count
        if out >= limits.outgoingPerHost {
            return "\(out) migrations out of \(move.source) run (max_outgoing_per_host)"
        }
        let into = running.filter { $0.destination == move.destination }.count
        if into >= limits.incomingPerHost {
            return "\(into) migrations into \(move.destination) run (max_incoming_per_host)"
        }
        return "waiting for its turn"
    }

    // MARK: What others see

    /// Capacity held on `host` for VMs moving in.
    func reserved(on host: String) -> ResourceVector {
        moves.values.filter { $0.destination == host }.reduce(.zero) { $0 + $1.demand }
    }

    /// Moves into and out of each host that has any, waiting ones included: such a host is never put to sleep.
    func hostsWithMigrations() -> [String: (incoming: Int, outgoing: Int)] {
        var result: [String: (incoming: Int, outgoing: Int)] = [:]
        for move in moves.values {
            result[move.destination, default: (0, 0)].incoming += 1
            result[move.source, default: (0, 0)].outgoing += 1
        }
        return result
    }

    func move(ofVM vmID: String) -> Move? { moves.values.first { $0.vmID == vmID } }

    /// Why a VM action (suspend, resume, shutdown, destroy, remove, undefine) may not touch `vmIDs` now: each of
    /// them that moves, named with its destination and task. Nil when none moves; a cluster-wide action is refused
    /// whole, before any VM is touched.
    func actionRefusal(touching vmIDs: some Sequence<String>) -> String? {
        let wanted = Set(vmIDs)
        let blocking = moves.values.filter { wanted.contains($0.vmID) }.sorted { $0.vmName < $1.vmName }
        guard !blocking.isEmpty else { return nil }
        return blocking.map {
            "\($0.vmName) is migrating to \($0.destination) (task \($0.taskID)): cancel it first with "
                + "torpor vm migrate-cancel \($0.vmName)"
        }.joined(separator: "; ")
    }

    /// Moves that have their slot (the source was asked) from or to `host`: the host must not be powered down
    /// under them, by the energy saver or by fencing.
    func runningMoves(touching host: String) -> [Move] {
        moves.values.filter { $0.running && ($0.source == host || $0.destination == host) }
            .sorted { $0.taskID < $1.taskID }
    }

    /// Whether an inventory of `host` may be reconciled for the VM: not while the VM moves from or to it (the
    /// destination lists the incoming domain paused, the source still lists it), nor while a fresh end settles.
    func leavesAlone(_ vmID: String, on host: String, at now: ContinuousClock.Instant) -> Bool {
        if let move = move(ofVM: vmID), move.source == host || move.destination == host { return true }
        if let settled = settling[vmID], now < settled.until, settled.hosts.contains(host) { return true }
        return false
    }

    /// Forgets ended settling windows; returns the hosts to look at again now that their sightings count.
    mutating func expireSettling(at now: ContinuousClock.Instant) -> Set<String> {
        var hosts: Set<String> = []
        for (vmID, settled) in settling where settled.until <= now {
            hosts.formUnion(settled.hosts)
            settling[vmID] = nil
        }
        return hosts
    }

    // MARK: Endings

    /// A cancellation the leader asked of the source agent, and why.
    enum Cancellation: Equatable, Sendable {
        /// `torpor vm migrate-cancel`: an abort, the VM stays on the source.
        case requested
        /// The destination's agent went away mid-move: the migration failed, naming the host.
        case destinationLost(String)
    }

    enum Ending: Equatable, Sendable {
        /// The VM runs on the destination only.
        case completed
        /// Stopped on purpose (a cancel, or the watchdog's last step): the VM runs on the source.
        case aborted(String)
        /// The VM runs on the source (unless the reason says otherwise).
        case failed(String)
        /// The source's answer was lost (its agent went away, or the manager restarted): the hosts' inventories
        /// decide, once the source is back.
        case fromInventories(String)
    }

    /// How a move ended, from the migrate command's answer and the agent's final progress push (which carries the
    /// outcome and comes before the answer on the same connection).
    static func ending(
        result: CommandResult,
        finalPhase: MigrationProgress.Phase?,
        cancellation: Cancellation?,
        source: String
    ) -> Ending {
        if let finalPhase {
            switch finalPhase {
            case .completed: return .completed
            case .aborted:
                if case .destinationLost(let reason) = cancellation { return .failed(reason) }
                if cancellation == .requested { return .aborted("cancelled; the VM runs on \(source)") }
                return .aborted("\(result.isOK ? "aborted" : result.message); the VM runs on \(source)")
            case .failed:
                if case .destinationLost(let reason) = cancellation { return .failed(reason) }
                return .failed("\(source): \(result.message)")
            case .copying, .postCopy: break
            }
        }
        switch result.code {
        case .ok:
            return .completed
        case .notDelivered, .timedOut:
            return .fromInventories("the answer of \(source) was lost (\(result.message))")
        case .commandFailed where cancellation == .requested:
            return .aborted("cancelled; the VM runs on \(source)")
        default:
            if case .destinationLost(let reason) = cancellation { return .failed(reason) }
            return .failed("\(source): \(result.message)")
        }
    }

    /// Whether the latest inventories of both hosts show a move whose answer was lost as over, and how; nil while
    /// they show it under way (libvirt may go on with a peer-to-peer migration its agent no longer watches): the
    /// destination lists the incoming domain paused while the source runs it, or runs it while the source still
    /// holds it paused (post-copy).
    static func settledEnding(
        vm: String,
        source: String,
        sourceState: VMState?,
        destination: String,
        destinationState: VMState?,
        why: String
    ) -> Ending? {
        let onSource = sourceState?.isActive ?? false
        let onDestination = destinationState?.isActive ?? false
        if onSource && onDestination {
            let incoming = destinationState == .paused && sourceState != .paused
            let postCopy = sourceState == .paused && destinationState != .paused
            if incoming || postCopy { return nil }
        }
        return ending(
            vm: vm,
            source: source,
            sourceListsActive: onSource,
            destination: destination,
            destinationListsActive: onDestination,
            why: why
        )
    }

    /// How a move whose answer was lost ended, from the latest inventories of both hosts.
    static func ending(
        vm: String,
        source: String,
        sourceListsActive: Bool,
        destination: String,
        destinationListsActive: Bool,
        why: String
    ) -> Ending {
        switch (sourceListsActive, destinationListsActive) {
        case (false, true): .completed
        case (true, false): .failed("\(why); \(source)'s inventory shows \(vm) still there, not on \(destination)")
        case (true, true): .failed("\(why); both \(source) and \(destination) list \(vm) running")
        case (false, false): .failed("\(why); neither \(source) nor \(destination) lists \(vm) running")
        }
    }

    /// The task's phase for an agent's progress phase.
    static func phase(_ phase: MigrationProgress.Phase) -> TaskMigration.Phase {
        switch phase {
        case .copying: .copying
        case .postCopy: .postCopy
        case .completed: .completed
        case .aborted: .aborted
        case .failed: .failed
        }
    }

    static func amount(_ value: Double, of dimension: ResourceDimension) -> String {
        func decimal(_ value: Double) -> String {
            let rounded = (value * 100).rounded() / 100
            return rounded == rounded.rounded() ? "\(Int64(rounded))" : "\(rounded)"
        }
        switch dimension {
        case .cpu: return value == 1 ? "1 core" : "\(decimal(value)) cores"
        case .memory: return "\(decimal(value / 1_048_576)) MiB of memory"
        case .networkRx: return "\(decimal(value * 8 / 1e6)) Mbit/s of receive bandwidth"
        case .networkTx: return "\(decimal(value * 8 / 1e6)) Mbit/s of transmit bandwidth"
        }
    }
}
