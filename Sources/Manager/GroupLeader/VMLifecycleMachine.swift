/// What the group leader believes about each VM beyond its stored row, and the decisions that follow from it: which
/// live task owns the VM (its command is in flight), and which command result is still settling (an inventory that
/// arrives soon after may have been sampled before the command ran). Events in, decisions out, no I/O: the leader
/// runs them against the store and the agents.
///
/// Ownership lives only in memory, on purpose: a task resumed after a manager restart owns nothing, so it may ask
/// the host recorded for a VM `starting` again; a live task's VM is never taken over by another task.
struct VMLifecycleMachine: Sendable {
    struct Belief: Equatable, Sendable {
        /// The live task whose command for the VM is in flight.
        var owner: String?
        /// The last command's result, trusted over contradicting inventories until `until`.
        var settled: Settled?
    }

    struct Settled: Equatable, Sendable {
        var state: StoredVM.State
        var hostID: String?
        var until: ContinuousClock.Instant
    }

    /// How long a command's result outweighs an inventory contradicting it. An agent sends an inventory after each
    /// sampling round that saw a change, and one round can be under way while the command runs: its inventory,
    /// arriving after the result, may still show the VM as it was. A later round shows the truth.
    let settleTime: Duration
    private(set) var beliefs: [String: Belief] = [:]

    init(settleTime: Duration) {
        self.settleTime = settleTime
    }

    func owner(of vmID: String) -> String? { beliefs[vmID]?.owner }

    // MARK: Starting

    /// What the host recorded for an `unreachable` VM is known to be, for a start.
    enum HostFate: Equatable, Sendable {
        /// Not heard from; it may still run the VM.
        case unknown
        /// Powered off and confirmed off by its fencing driver: its VMs are not running.
        case fenced
    }

    /// What one start task does with one VM.
    enum StartStep: Equatable, Sendable {
        /// Already up: nothing to do.
        case alreadyUp(hostID: String, state: StoredVM.State)
        /// Another live task is starting it: wait for that task's result, never start it a second time.
        case ownedByLiveTask(taskID: String)
        /// Claimed by a run that did not finish (before a manager restart): ask the recorded host again.
        case askRecordedHost(hostID: String)
        /// Not running anywhere: place it.
        case place
        /// Its host stopped heartbeating and may still run it: fence the host first, never start it elsewhere on a
        /// guess.
        case fenceFirst(hostID: String)
        /// Found running on two hosts: an operator must choose which copy stays.
        case refuse(reason: String)
    }

    func startStep(for vm: StoredVM, task taskID: String) -> StartStep {
        if let owner = beliefs[vm.id]?.owner, owner != taskID { return .ownedByLiveTask(taskID: owner) }
        switch vm.state {
        case .running, .suspended:
            return .alreadyUp(hostID: vm.hostID ?? "", state: vm.state)
        case .starting:
            if let host = vm.hostID { return .askRecordedHost(hostID: host) }
            return .place
        case .unreachable:
            if let host = vm.hostID { return .fenceFirst(hostID: host) }
            return .place
        case .shuttingDown:
            return .refuse(reason: "a shutdown is still pending on \(vm.hostID ?? "its host")")
        case .duplicated:
            return .refuse(reason: vm.reason ?? "running on more than one host")
        case .pending, .stopped, .failed, .missing:
            return .place
        }
    }

    // MARK: Commands

    /// A task claims the VM before it sends a command for it.
    mutating func claim(_ vmID: String, by taskID: String) {
        beliefs[vmID, default: Belief()].owner = taskID
    }

    /// The command ended: the VM is released, and the state it left is trusted over contradicting inventories for
    /// `settleTime`.
    mutating func commandEnded(
        _ vmID: String,
        by taskID: String,
        state: StoredVM.State,
        hostID: String?,
        at now: ContinuousClock.Instant
    ) {
        var belief = beliefs[vmID, default: Belief()]
        if belief.owner == taskID { belief.owner = nil }
        belief.settled = Settled(state: state, hostID: hostID, until: now + settleTime)
        beliefs[vmID] = belief
    }

    /// The task gave the VM up without a result worth keeping (it failed before the command was sent).
    mutating func release(_ vmID: String, by taskID: String) {
        guard beliefs[vmID]?.owner == taskID else { return }
        beliefs[vmID]?.owner = nil
        if beliefs[vmID] == Belief() { beliefs[vmID] = nil }
    }

    /// The VM is gone from the manager (removed): nothing to remember.
    mutating func forget(_ vmID: String) {
        beliefs[vmID] = nil
    }

    /// Drops settling windows that have passed, so beliefs do not grow with every VM ever commanded.
    mutating func expire(at now: ContinuousClock.Instant) {
        for (id, belief) in beliefs where belief.owner == nil && (belief.settled?.until ?? now) <= now {
            beliefs[id] = nil
        }
    }

    // MARK: Reconciling inventories

    /// What one host's inventory says about one VM the store knows.
    enum Sighting: Equatable, Sendable {
        /// Listed, in this state.
        case present(StoredVM.State)
        /// The store places the VM on this host and the inventory does not list it.
        case absent
    }

    enum Reconciliation: Equatable, Sendable {
        /// The store already says so, or the sighting says nothing new.
        case keep
        case record(hostID: String?, state: StoredVM.State, reason: String?)
        /// The sighting contradicts a command result that may be newer than it: look again at `until`.
        case recheck(until: ContinuousClock.Instant)
        /// Running on this host and on the host the store records, both by their latest inventories: an error.
        case duplicate(hosts: [String])
    }

    /// - Parameters:
    ///   - recordedHostListsItActive: the latest inventory of the host the store records for the VM (when that is
    ///     another host) lists it running or paused.
    func reconcile(
        _ vm: StoredVM,
        sighting: Sighting,
        on hostID: String,
        recordedHostListsItActive: Bool,
        at now: ContinuousClock.Instant
    ) -> Reconciliation {
        let belief = beliefs[vm.id]
        // A command for the VM is in flight: its result decides; inventories meanwhile may predate it.
        if belief?.owner != nil {
            if case .present(let observed) = sighting, observed != .stopped, let recorded = vm.hostID,
                recorded != hostID, recordedHostListsItActive
            {
                return .duplicate(hosts: [recorded, hostID].sorted())
            }
            return .keep
        }
        switch sighting {
        case .present(let observed):
            if let recorded = vm.hostID, recorded != hostID {
                // A stale definition left on a host the VM has since moved from.
                guard observed != .stopped else { return .keep }
                if recordedHostListsItActive || vm.state == .unreachable {
                    return .duplicate(hosts: [recorded, hostID].sorted())
                }
            }
            // A sighting that contradicts a fresh result may have been sampled before the command ran. A shutdown
            // result expects the guest to go off: that sighting agrees.
            if let settled = belief?.settled, now < settled.until,
                settled.state != observed || settled.hostID != hostID,
                !(settled.state == .shuttingDown && observed == .stopped)
            {
                return .recheck(until: settled.until)
            }
            // A VM being started is defined before it runs: a shut-off sighting says nothing yet.
            if vm.state == .starting, observed == .stopped { return .keep }
            // A guest asked to shut down is still up until it is seen off.
            if vm.state == .shuttingDown, observed != .stopped, vm.hostID == hostID { return .keep }
            // Still on the recorded host: the other copy is not ruled out until it is seen gone.
            if vm.state == .duplicated, vm.hostID == hostID { return .keep }
            guard vm.state != observed || vm.hostID != hostID else { return .keep }
            return .record(hostID: hostID, state: observed, reason: nil)
        case .absent:
            guard [.running, .suspended, .stopped, .unreachable, .shuttingDown, .duplicated].contains(vm.state) else {
                return .keep
            }
            if let settled = belief?.settled, now < settled.until, settled.hostID == hostID {
                return .recheck(until: settled.until)
            }
            let reason = "expected on \(hostID) but absent from its inventory"
            return .record(hostID: hostID, state: .missing, reason: reason)
        }
    }
}
