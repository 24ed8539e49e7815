import Testing

@testable import Manager

/// The VM lifecycle machine, table-driven: given a stored VM and what the leader believes about it, a start or an
/// inventory sighting gives a decision.
@Suite struct VMLifecycleMachineTests {
    static let t0 = ContinuousClock.now

    static func vm(_ state: StoredVM.State, on host: String? = "h1", reason: String? = nil) -> StoredVM {
        StoredVM(id: "u1", name: "vm-1", vcName: "lab", templateXML: "", hostID: host, state: state, reason: reason)
    }

    struct StartRow: Sendable, CustomTestStringConvertible {
        var vm: StoredVM
        var owner: String?
        var step: VMLifecycleMachine.StartStep
        var testDescription: String { "\(vm.state) owned by \(owner ?? "none") → \(step)" }
    }

    static let startRows: [StartRow] = [
        StartRow(vm: vm(.running), owner: nil, step: .alreadyUp(hostID: "h1", state: .running)),
        StartRow(vm: vm(.stopped), owner: nil, step: .place),
        StartRow(vm: vm(.pending, on: nil), owner: nil, step: .place),
        StartRow(vm: vm(.failed, on: nil), owner: nil, step: .place),
        StartRow(vm: vm(.missing), owner: nil, step: .place),
        // A VM a live task is starting belongs to that task: a second task never starts it again.
        StartRow(vm: vm(.starting), owner: "t-first", step: .ownedByLiveTask(taskID: "t-first")),
        StartRow(vm: vm(.stopped), owner: "t-first", step: .ownedByLiveTask(taskID: "t-first")),
        // Starting with no live owner: claimed by a run cut short by a restart; ask the recorded host again.
        StartRow(vm: vm(.starting), owner: nil, step: .askRecordedHost(hostID: "h1")),
        StartRow(vm: vm(.starting), owner: "t-self", step: .askRecordedHost(hostID: "h1")),
        // A host whose fate is unknown may still run it.
        StartRow(vm: vm(.unreachable), owner: nil, step: .fenceFirst(hostID: "h1")),
        StartRow(
            vm: vm(.duplicated, reason: "running on h1 and h2"),
            owner: nil,
            step: .refuse(reason: "running on h1 and h2")
        ),
        StartRow(
            vm: vm(.shuttingDown),
            owner: nil,
            step: .refuse(reason: "a shutdown is still pending on h1")
        ),
    ]

    @Test(arguments: startRows) func startStep(_ row: StartRow) {
        var machine = VMLifecycleMachine(settleTime: .seconds(10))
        if let owner = row.owner { machine.claim("u1", by: owner) }
        #expect(machine.startStep(for: row.vm, task: "t-self") == row.step)
    }

    @Test func releaseAndResultEndOwnership() {
        var machine = VMLifecycleMachine(settleTime: .seconds(10))
        machine.claim("u1", by: "t1")
        machine.release("u1", by: "t2")
        #expect(machine.owner(of: "u1") == "t1")
        machine.commandEnded("u1", by: "t1", state: .running, hostID: "h1", at: Self.t0)
        #expect(machine.owner(of: "u1") == nil)
        #expect(machine.beliefs["u1"]?.settled?.until == Self.t0 + .seconds(10))
        machine.expire(at: Self.t0 + .seconds(11))
        #expect(machine.beliefs.isEmpty)
    }

    struct SightingRow: Sendable, CustomTestStringConvertible {
        var vm: StoredVM
        /// A command result for the VM, `seconds` before the sighting (settle time 10 s).
        var settled: (state: StoredVM.State, host: String?, seconds: Int)?
        var owner: String? = nil
        var sighting: VMLifecycleMachine.Sighting
        var on: String = "h1"
        var recordedListsIt = false
        var decision: VMLifecycleMachine.Reconciliation
        var testDescription: String { "\(vm.state)@\(vm.hostID ?? "-") + \(sighting) on \(on) → \(decision)" }
    }

    static let settleEnd = t0 + .seconds(100) + .seconds(10)

    static let sightingRows: [SightingRow] = [
        SightingRow(vm: vm(.running), sighting: .present(.running), decision: .keep),
        SightingRow(
            vm: vm(.running),
            sighting: .absent,
            decision: .record(hostID: "h1", state: .missing, reason: "expected on h1 but absent from its inventory")
        ),
        // Inventories arriving while a start is in flight, or just after its result, may predate it.
        SightingRow(vm: vm(.starting), owner: "t1", sighting: .absent, decision: .keep),
        SightingRow(vm: vm(.starting), sighting: .present(.stopped), decision: .keep),
        SightingRow(
            vm: vm(.running),
            settled: (.running, "h1", 2),
            sighting: .absent,
            decision: .recheck(until: t0 + .seconds(98) + .seconds(10))
        ),
        SightingRow(
            vm: vm(.running),
            settled: (.running, "h1", 2),
            sighting: .present(.stopped),
            decision: .recheck(until: t0 + .seconds(98) + .seconds(10))
        ),
        // Past the settle time the inventory is the truth again.
        SightingRow(
            vm: vm(.running),
            settled: (.running, "h1", 11),
            sighting: .absent,
            decision: .record(hostID: "h1", state: .missing, reason: "expected on h1 but absent from its inventory")
        ),
        // A shutdown is a request: the guest still runs until it is seen off.
        SightingRow(vm: vm(.shuttingDown), sighting: .present(.running), decision: .keep),
        SightingRow(
            vm: vm(.shuttingDown),
            settled: (.shuttingDown, "h1", 1),
            sighting: .present(.stopped),
            decision: .record(hostID: "h1", state: .stopped, reason: nil)
        ),
        // Seen running on a second host while the recorded one still lists it: two copies, an error.
        SightingRow(
            vm: vm(.running),
            sighting: .present(.running),
            on: "h2",
            recordedListsIt: true,
            decision: .duplicate(hosts: ["h1", "h2"])
        ),
        SightingRow(
            vm: vm(.starting),
            owner: "t1",
            sighting: .present(.running),
            on: "h2",
            recordedListsIt: true,
            decision: .duplicate(hosts: ["h1", "h2"])
        ),
        // Running elsewhere while its recorded host is FAILED: the old host may still run it too.
        SightingRow(
            vm: vm(.unreachable),
            sighting: .present(.running),
            on: "h2",
            decision: .duplicate(hosts: ["h1", "h2"])
        ),
        // Moved: the recorded host no longer lists it.
        SightingRow(
            vm: vm(.running),
            sighting: .present(.running),
            on: "h2",
            decision: .record(hostID: "h2", state: .running, reason: nil)
        ),
        // A stale shut-off definition on a host the VM left.
        SightingRow(vm: vm(.running), sighting: .present(.stopped), on: "h2", decision: .keep),
        SightingRow(
            vm: vm(.duplicated, reason: "two"),
            sighting: .present(.running),
            decision: .keep
        ),
        SightingRow(
            vm: vm(.missing),
            sighting: .present(.running),
            decision: .record(hostID: "h1", state: .running, reason: nil)
        ),
    ]

    @Test(arguments: sightingRows) func reconcile(_ row: SightingRow) {
        var machine = VMLifecycleMachine(settleTime: .seconds(10))
        let now = Self.t0 + .seconds(100)
        if let settled = row.settled {
            machine.claim("u1", by: "t0")
            machine.commandEnded(
                "u1",
                by: "t0",
                state: settled.state,
                hostID: settled.host,
                at: now - .seconds(settled.seconds)
            )
        }
        if let owner = row.owner { machine.claim("u1", by: owner) }
        let decision = machine.reconcile(
            row.vm,
            sighting: row.sighting,
            on: row.on,
            recordedHostListsItActive: row.recordedListsIt,
            at: now
        )
        #expect(decision == row.decision)
    }
}
