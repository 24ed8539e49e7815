import Placement
import Testing
import Wire

@testable import Manager

/// `MigrationMachine` driven by events, table by table: refusals, admission under the limits, reservations, which
/// inventories are left alone, and endings.
@Suite struct MigrationMachineTests {
    static let limits = MigrationMachine.Limits(outgoingPerHost: 2, incomingPerHost: 2, perCluster: 3)
    static let oneVM = ResourceVector(cpuCores: 2, memoryBytes: Double(2 << 30))

    static func move(_ task: String, _ vm: String, _ source: String, _ destination: String) -> MigrationMachine.Move {
        MigrationMachine.Move(
            taskID: task,
            vmID: "id-\(vm)",
            vmName: vm,
            source: source,
            destination: destination,
            demand: oneVM
        )
    }

    static func vm(
        _ name: String,
        state: StoredVM.State = .running,
        on host: String? = "h1"
    )
        -> MigrationMachine.VMFacts
    {
        MigrationMachine.VMFacts(id: "id-\(name)", name: name, state: state, hostID: host, demand: oneVM)
    }

    static func host(
        _ id: String,
        _ availability: MigrationMachine.Availability = .active,
        cores: Double = 8,
        placedCores: Double = 0,
        uri: String = "qemu+tcp://10.0.0.2/system"
    ) -> MigrationMachine.HostFacts {
        MigrationMachine.HostFacts(
            id: id,
            availability: availability,
            capacity: ResourceVector(cpuCores: cores, memoryBytes: Double(64 << 30)),
            placed: ResourceVector(cpuCores: placedCores),
            migrationURI: uri
        )
    }

    // MARK: Refusals

    struct RefusalCase: Sendable, CustomTestStringConvertible {
        var name: String
        var vm: MigrationMachine.VMFacts?
        var destination: MigrationMachine.HostFacts?
        var method: VMCommand.Migration.Method = .live
        var expected: String?
        var testDescription: String { name }
    }

    static let refusals: [RefusalCase] = [
        RefusalCase(name: "fits", vm: vm("web-1"), destination: host("h2"), expected: nil),
        RefusalCase(
            name: "offline",
            vm: vm("web-1"),
            destination: host("h2"),
            method: .offline,
            expected: "the offline method is not supported: use live, copy-storage-all or copy-storage-inc"
        ),
        RefusalCase(name: "unknown VM", vm: nil, destination: host("h2"), expected: "no VM named 'web-1'"),
        RefusalCase(
            name: "stopped VM",
            vm: vm("web-1", state: .stopped),
            destination: host("h2"),
            expected: "web-1 is stopped, not running: only a running VM migrates"
        ),
        RefusalCase(
            name: "suspended VM",
            vm: vm("web-1", state: .suspended),
            destination: host("h2"),
            expected: "web-1 is suspended, not running: only a running VM migrates"
        ),
        RefusalCase(name: "unknown host", vm: vm("web-1"), destination: nil, expected: "no host 'h2'"),
        RefusalCase(
            name: "same host",
            vm: vm("web-1", on: "h2"),
            destination: host("h2"),
            expected: "web-1 already runs on h2"
        ),
        RefusalCase(
            name: "asleep",
            vm: vm("web-1"),
            destination: host("h2", .asleep),
            expected: "h2 is asleep: a VM is migrated only to an awake host"
        ),
        RefusalCase(
            name: "waking",
            vm: vm("web-1"),
            destination: host("h2", .waking),
            expected: "h2 is waking: a VM is migrated only to an awake host"
        ),
        RefusalCase(
            name: "failed",
            vm: vm("web-1"),
            destination: host("h2", .failed),
            expected: "h2 is FAILED: a VM is migrated only to an awake host"
        ),
        RefusalCase(
            name: "going down",
            vm: vm("web-1"),
            destination: host("h2", .goingDown),
            expected: "h2 is going down: a VM is migrated only to an awake host"
        ),
        RefusalCase(
            name: "disconnected",
            vm: vm("web-1"),
            destination: host("h2", .disconnected),
            expected: "h2 is not connected: a VM is migrated only to an awake host"
        ),
        RefusalCase(
            name: "cordoned",
            vm: vm("web-1"),
            destination: host("h2", .cordoned(reason: "new DIMMs")),
            expected: "h2 is cordoned (new DIMMs): no VM is migrated onto it until `torpor host uncordon h2`"
        ),
        RefusalCase(
            name: "cordoned without a reason",
            vm: vm("web-1"),
            destination: host("h2", .cordoned(reason: "")),
            expected: "h2 is cordoned: no VM is migrated onto it until `torpor host uncordon h2`"
        ),
        RefusalCase(
            name: "libvirtd does not answer",
            vm: vm("web-1"),
            destination: host("h2", .hypervisorUnreachable(problem: "libvirtd down")),
            expected: "h2's libvirtd does not answer (libvirtd down): a VM is migrated only to a host whose libvirtd "
                + "answers"
        ),
        RefusalCase(
            name: "no URI",
            vm: vm("web-1"),
            destination: host("h2", uri: ""),
            expected: "h2's agent announced no migration URI (an agent from before migrations)"
        ),
        RefusalCase(
            name: "full",
            vm: vm("web-1"),
            destination: host("h2", cores: 8, placedCores: 7),
            expected: "h2 is full: web-1 needs 2 cores, and h2 has 1 core free after reservations"
        ),
        RefusalCase(
            name: "exactly full fits",
            vm: vm("web-1"),
            destination: host("h2", cores: 8, placedCores: 6),
            expected: nil
        ),
    ]

    @Test(arguments: refusals)
    func refusal(_ test: RefusalCase) {
        let machine = MigrationMachine(limits: Self.limits)
        let refusal = machine.refusal(
            vmName: "web-1",
            vm: test.vm,
            destinationID: "h2",
            destination: test.destination,
            method: test.method,
            fillLimit: 1
        )
        #expect(refusal?.description == test.expected)
    }

    @Test func theFillLimitAndReservationsCountTowardsFull() {
        var machine = MigrationMachine(limits: Self.limits)
        let destination = Self.host("h2", cores: 8, placedCores: 2)
        let check = { (machine: MigrationMachine, fill: Double) in
            machine.refusal(
                vmName: "web-1",
                vm: Self.vm("web-1"),
                destinationID: "h2",
                destination: destination,
                method: .live,
                fillLimit: fill
            )
        }
        #expect(check(machine, 1) == nil)
        // 50 % of 8 cores is 4: 2 placed + 2 asked fit; one more reservation of 2 does not.
        #expect(check(machine, 0.5) == nil)
        _ = machine.accept(Self.move("t1", "db-1", "h3", "h2"))
        #expect(machine.reserved(on: "h2") == Self.oneVM)
        #expect(check(machine, 0.5)?.description.hasPrefix("h2 is full") == true)
        #expect(check(machine, 1) == nil)
        _ = machine.end("t1", settleUntil: .now)
        #expect(machine.reserved(on: "h2") == .zero)
        #expect(check(machine, 0.5) == nil)
    }

    @Test func aVMAlreadyMovingIsRefusedNamingItsTask() {
        var machine = MigrationMachine(limits: Self.limits)
        _ = machine.accept(Self.move("t1", "web-1", "h1", "h3"))
        let refusal = machine.refusal(
            vmName: "web-1",
            vm: Self.vm("web-1"),
            destinationID: "h2",
            destination: Self.host("h2"),
            method: .live,
            fillLimit: 1
        )
        #expect(refusal == .alreadyMigrating(vm: "web-1", destination: "h3", taskID: "t1"))
        #expect(refusal?.result.code == .conflict)
    }

    @Test func refusalCodes() {
        #expect(MigrationMachine.Refusal.unknownVM("a").result.code == .notFound)
        #expect(MigrationMachine.Refusal.unknownHost("a").result.code == .notFound)
        #expect(MigrationMachine.Refusal.sameHost(vm: "a", host: "h").result.code == .invalidArgument)
        #expect(MigrationMachine.Refusal.unsupportedMethod(.offline).result.code == .invalidArgument)
        #expect(MigrationMachine.Refusal.unavailable(host: "h", .asleep).result.code == .conflict)
        #expect(MigrationMachine.Refusal.full(host: "h", vm: "a", lacking: "x").result.code == .conflict)
    }

    // MARK: Admission

    /// Events and the moves each one starts: per host out (2), per host in (2), per cluster (3).
    @Test func admissionFollowsTheLimitsInAcceptanceOrder() {
        var machine = MigrationMachine(limits: Self.limits)
        let steps: [(String, (inout MigrationMachine) -> [String], [String])] = [
            ("t1 h1→h2", { $0.accept(Self.move("t1", "a", "h1", "h2")) }, ["t1"]),
            ("t2 h1→h3", { $0.accept(Self.move("t2", "b", "h1", "h3")) }, ["t2"]),
            // h1 has two out.
            ("t3 h1→h4 waits", { $0.accept(Self.move("t3", "c", "h1", "h4")) }, []),
            // Another source: the cluster's third slot.
            ("t4 h5→h2", { $0.accept(Self.move("t4", "d", "h5", "h2")) }, ["t4"]),
            // The cluster is full, though h6→h7 has room.
            ("t5 h6→h7 waits", { $0.accept(Self.move("t5", "e", "h6", "h7")) }, []),
            // t1 ends: h1 has a slot out, and t3 (first in line) takes the cluster's slot.
            ("t1 ends", { $0.end("t1", settleUntil: .now) }, ["t3"]),
            // t4 ends: h2's in slot frees; t5 is next.
            ("t4 ends", { $0.end("t4", settleUntil: .now) }, ["t5"]),
            ("unknown ends", { $0.end("t9", settleUntil: .now) }, []),
        ]
        for (name, event, expected) in steps {
            #expect(event(&machine) == expected, "\(name)")
        }
        #expect(machine.queue.isEmpty)
        #expect(Set(machine.moves.keys) == ["t2", "t3", "t5"])
        #expect(machine.moves.values.allSatisfy { $0.running })
    }

    @Test func aWaitingMoveSaysWhichLimitHoldsIt() {
        var machine = MigrationMachine(limits: .init(outgoingPerHost: 1, incomingPerHost: 1, perCluster: 2))
        _ = machine.accept(Self.move("t1", "a", "h1", "h2"))
        _ = machine.accept(Self.move("t2", "b", "h1", "h3"))
        _ = machine.accept(Self.move("t3", "c", "h4", "h2"))
        #expect(machine.waitReason("t1") == nil)
        #expect(machine.waitReason("t2") == "1 migrations out of h1 run (max_outgoing_per_host)")
        #expect(machine.waitReason("t3") == "1 migrations into h2 run (max_incoming_per_host)")
        _ = machine.accept(Self.move("t4", "d", "h5", "h6"))
        _ = machine.accept(Self.move("t5", "e", "h7", "h8"))
        #expect(machine.waitReason("t5") == "2 migrations run in the cluster (max_per_cluster)")
    }

    @Test func aResumedMoveHoldsASlotEvenOverTheLimit() {
        var machine = MigrationMachine(limits: .init(outgoingPerHost: 1, incomingPerHost: 1, perCluster: 1))
        #expect(machine.accept(Self.move("t1", "a", "h1", "h2")) == ["t1"])
        machine.resume(Self.move("t0", "z", "h1", "h2"))
        #expect(machine.moves["t0"]?.running == true)
        #expect(machine.accept(Self.move("t2", "b", "h3", "h4")) == [])
        #expect(machine.end("t1", settleUntil: .now) == [])
        #expect(machine.end("t0", settleUntil: .now) == ["t2"])
    }

    @Test func hostsWithMigrationsCountWaitingMovesBothWays() {
        var machine = MigrationMachine(limits: .init(outgoingPerHost: 1, incomingPerHost: 1, perCluster: 8))
        _ = machine.accept(Self.move("t1", "a", "h1", "h2"))
        _ = machine.accept(Self.move("t2", "b", "h1", "h3"))
        let counts = machine.hostsWithMigrations().mapValues { [$0.incoming, $0.outgoing] }
        #expect(counts == ["h1": [0, 2], "h2": [1, 0], "h3": [1, 0]])
    }

    // MARK: Inventories

    @Test func inventoriesOfBothHostsAreLeftAloneWhileMovingAndSettling() {
        var machine = MigrationMachine(limits: Self.limits)
        let now = ContinuousClock.now
        _ = machine.accept(Self.move("t1", "a", "h1", "h2"))
        #expect(machine.leavesAlone("id-a", on: "h1", at: now))
        #expect(machine.leavesAlone("id-a", on: "h2", at: now))
        #expect(!machine.leavesAlone("id-a", on: "h3", at: now))
        #expect(!machine.leavesAlone("id-b", on: "h1", at: now))
        _ = machine.end("t1", settleUntil: now + .seconds(10))
        #expect(machine.leavesAlone("id-a", on: "h1", at: now + .seconds(5)))
        #expect(!machine.leavesAlone("id-a", on: "h1", at: now + .seconds(10)))
        #expect(machine.expireSettling(at: now + .seconds(5)).isEmpty)
        #expect(machine.expireSettling(at: now + .seconds(10)) == ["h1", "h2"])
        #expect(machine.settling.isEmpty)
    }

    // MARK: Endings

    struct EndingCase: Sendable, CustomTestStringConvertible {
        var name: String
        var result: CommandResult
        var finalPhase: MigrationProgress.Phase?
        var cancellation: MigrationMachine.Cancellation?
        var expected: MigrationMachine.Ending
        var testDescription: String { name }
    }

    static let endings: [EndingCase] = [
        EndingCase(name: "ok", result: .ok(), finalPhase: .completed, expected: .completed),
        EndingCase(name: "ok without a push", result: .ok(), expected: .completed),
        EndingCase(
            name: "watchdog abort",
            result: CommandResult(code: .timedOut, message: "aborted after 3 steps"),
            finalPhase: .aborted,
            expected: .aborted("aborted after 3 steps; the VM runs on h1")
        ),
        EndingCase(
            name: "operator cancel",
            result: CommandResult(code: .commandFailed, message: "cancelled"),
            finalPhase: .aborted,
            cancellation: .requested,
            expected: .aborted("cancelled; the VM runs on h1")
        ),
        EndingCase(
            name: "operator cancel, push lost",
            result: CommandResult(code: .commandFailed, message: "cancelled"),
            cancellation: .requested,
            expected: .aborted("cancelled; the VM runs on h1")
        ),
        EndingCase(
            name: "destination lost",
            result: CommandResult(code: .commandFailed, message: "cancelled"),
            finalPhase: .aborted,
            cancellation: .destinationLost("h2 went away"),
            expected: .failed("h2 went away")
        ),
        EndingCase(
            name: "destination lost, but it had completed",
            result: .ok(),
            finalPhase: .completed,
            cancellation: .destinationLost("h2 went away"),
            expected: .completed
        ),
        EndingCase(
            name: "libvirt failure",
            result: CommandResult(code: .hypervisorError, message: "unable to connect"),
            finalPhase: .failed,
            expected: .failed("h1: unable to connect")
        ),
        EndingCase(
            name: "refused by the agent",
            result: CommandResult(code: .busy, message: "web-1 is already migrating"),
            expected: .failed("h1: web-1 is already migrating")
        ),
        EndingCase(
            name: "answer lost",
            result: CommandResult(code: .notDelivered, message: "connection closed"),
            expected: .fromInventories("the answer of h1 was lost (connection closed)")
        ),
        EndingCase(
            name: "answer lost after the final push",
            result: CommandResult(code: .notDelivered, message: "connection closed"),
            finalPhase: .completed,
            expected: .completed
        ),
        EndingCase(
            name: "no answer in time",
            result: CommandResult(code: .timedOut, message: "h1: timed out"),
            expected: .fromInventories("the answer of h1 was lost (h1: timed out)")
        ),
    ]

    @Test(arguments: endings)
    func ending(_ test: EndingCase) {
        let ending = MigrationMachine.ending(
            result: test.result,
            finalPhase: test.finalPhase,
            cancellation: test.cancellation,
            source: "h1"
        )
        #expect(ending == test.expected)
    }

    @Test func endingsFromInventories() {
        let cases: [(Bool, Bool, MigrationMachine.Ending)] = [
            (false, true, .completed),
            (true, false, .failed("lost; h1's inventory shows web-1 still there, not on h2")),
            (true, true, .failed("lost; both h1 and h2 list web-1 running")),
            (false, false, .failed("lost; neither h1 nor h2 lists web-1 running")),
        ]
        for (source, destination, expected) in cases {
            let ending = MigrationMachine.ending(
                vm: "web-1",
                source: "h1",
                sourceListsActive: source,
                destination: "h2",
                destinationListsActive: destination,
                why: "lost"
            )
            #expect(ending == expected, "source \(source), destination \(destination)")
        }
    }

    /// Inventories that still show the move under way settle nothing: the incoming domain paused on the destination
    /// while the source runs it, or post-copy's reverse.
    @Test func inventoriesShowingTheMoveUnderWaySettleNothing() {
        let cases: [(VMState?, VMState?, MigrationMachine.Ending?)] = [
            (.running, .paused, nil),
            (.paused, .running, nil),
            (nil, .running, .completed),
            (.shutOff, .running, .completed),
            (.running, nil, .failed("lost; h1's inventory shows web-1 still there, not on h2")),
            (.running, .shutOff, .failed("lost; h1's inventory shows web-1 still there, not on h2")),
            (.running, .running, .failed("lost; both h1 and h2 list web-1 running")),
            (.paused, .paused, .failed("lost; both h1 and h2 list web-1 running")),
            (nil, nil, .failed("lost; neither h1 nor h2 lists web-1 running")),
        ]
        for (source, destination, expected) in cases {
            let ending = MigrationMachine.settledEnding(
                vm: "web-1",
                source: "h1",
                sourceState: source,
                destination: "h2",
                destinationState: destination,
                why: "lost"
            )
            #expect(
                ending == expected,
                "source \(String(describing: source)), destination \(String(describing: destination))"
            )
        }
    }

    @Test func progressPhasesMapToTaskPhases() {
        let mapped = MigrationProgress.Phase.allCases.map(MigrationMachine.phase)
        #expect(mapped == [.copying, .postCopy, .completed, .aborted, .failed])
    }

    // MARK: Actions on moving VMs

    @Test func actionsAreRefusedNamingEveryMovingVMAndFencingSeesOnlyRunningMoves() {
        var machine = MigrationMachine(
            limits: MigrationMachine.Limits(outgoingPerHost: 1, incomingPerHost: 2, perCluster: 3)
        )
        #expect(machine.accept(Self.move("t-1", "web-1", "h1", "h2")) == ["t-1"])
        #expect(machine.accept(Self.move("t-2", "web-2", "h1", "h3")) == [])
        #expect(machine.actionRefusal(touching: ["id-web-3"]) == nil)
        #expect(machine.actionRefusal(touching: []) == nil)
        #expect(
            machine.actionRefusal(touching: ["id-web-3", "id-web-1"])
                == "web-1 is migrating to h2 (task t-1): cancel it first with torpor vm migrate-cancel web-1"
        )
        // Waiting moves count too: the VM is claimed by its task from acceptance.
        #expect(
            machine.actionRefusal(touching: ["id-web-2", "id-web-1"])
                == "web-1 is migrating to h2 (task t-1): cancel it first with torpor vm migrate-cancel web-1; "
                + "web-2 is migrating to h3 (task t-2): cancel it first with torpor vm migrate-cancel web-2"
        )
        #expect(machine.runningMoves(touching: "h1").map(\.taskID) == ["t-1"])
        #expect(machine.runningMoves(touching: "h2").map(\.taskID) == ["t-1"])
        #expect(machine.runningMoves(touching: "h3").isEmpty)
    }
}
