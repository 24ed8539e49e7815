import Energy
import Foundation
import Logging
import Placement
import Testing
import Wire

@testable import Manager

/// Migration tasks driven through `FakeGroupManager`: validation, reservations, limits, outcomes and agents that go
/// away. The fake's migrations are held until the test ends them; real libvirt migrations are the KVM lab's.
@Suite struct GroupLeaderMigrationTests {
    typealias Support = GroupLeaderTests

    /// Every fake host joins with a migration URI the fake understands.
    static func join(_ leader: GroupLeader, _ hosts: [String], cores: UInt16 = 8) async {
        for id in hosts {
            var description = HostRegistryTests.agent(id)
            description.capacity.cores = cores
            description.migrationURI = "fake://\(id)"
            await leader.hostJoined(description)
        }
    }

    /// A leader with `count` running VMs `vm-1`… of cluster `web`, placed first-fit on `hosts`.
    static func withRunningVMs(
        hosts: [String],
        count: Int,
        cores: UInt16 = 8,
        configuration: ManagerConfiguration = ManagerConfiguration(),
        _ body: (GroupLeader, ManagerStore, FakeGroupManager) async throws -> Void
    ) async throws {
        let fake = FakeGroupManager(hosts: hosts, cores: cores)
        try await Support.withLeader(fake, configuration: configuration) { leader, store in
            await join(leader, hosts, cores: cores)
            try await Support.cluster(leader, "web", count: count)
            let started = try await Support.finished(leader, try await Support.submit(leader, .start, "web"))
            #expect(started.state == .succeeded, "\(started.message)")
            for host in hosts { _ = await fake.snapshot(host) }
            try await body(leader, store, fake)
        }
    }

    static func migrate(
        _ leader: GroupLeader,
        _ vm: String,
        to host: String,
        method: VMCommand.Migration.Method = .live
    ) async -> WireMessage {
        await leader.handle(.migrate(vm: vm, to: host, method: method))
    }

    static func accepted(_ leader: GroupLeader, _ vm: String, to host: String) async throws -> TaskStatus {
        let reply = await migrate(leader, vm, to: host)
        guard case .taskStatus(let status) = reply else { throw Support.Refused(reply: "\(reply)") }
        return status
    }

    static func refusal(_ leader: GroupLeader, _ vm: String, to host: String) async -> CommandResult? {
        guard case .commandResult(let result) = await migrate(leader, vm, to: host) else { return nil }
        return result
    }

    static func status(_ leader: GroupLeader, _ id: String) async throws -> TaskStatus {
        let reply = await leader.handle(.task(id: id, waitMilliseconds: 0))
        guard case .taskStatus(let status) = reply else { throw Support.Refused(reply: "\(reply)") }
        return status
    }

    static func progress(
        _ vm: String,
        _ phase: MigrationProgress.Phase,
        remaining: UInt64 = 0,
        steps: [MigrationProgress.TakenStep] = []
    ) -> MigrationProgress {
        MigrationProgress(
            vmName: vm,
            destinationURI: "fake://h2",
            phase: phase,
            elapsedMilliseconds: 4_200,
            dataTotalBytes: 256 << 20,
            dataProcessedBytes: (256 << 20) - remaining,
            dataRemainingBytes: remaining,
            memoryDirtyRateBytesPerSecond: 1 << 20,
            iteration: 3,
            steps: steps
        )
    }

    // MARK: Completed

    @Test func aCompletedMigrationMovesTheVMInTheStoreAndRecordsItsSteps() async throws {
        try await Self.withRunningVMs(hosts: ["h1", "h2"], count: 1) { leader, store, fake in
            #expect(try await store.vm(named: "vm-1")?.hostID == "h1")
            let accepted = try await Self.accepted(leader, "vm-1", to: "h2")
            #expect(accepted.kind == "migrate")
            #expect(accepted.migration?.sourceHostID == "h1")
            #expect(accepted.migration?.destinationHostID == "h2")
            #expect(accepted.migration?.reason == "operator")
            #expect(await Support.eventually { await fake.migrating == ["vm-1"] })
            // While it moves: capacity held on h2, both hosts busy, the VM still on h1.
            let vm = try #require(try await store.vm(named: "vm-1"))
            #expect(await leader.migrations.reserved(on: "h2") == vm.requested)
            #expect(
                await leader.hostsWithMigrations() == [
                    "h1": .init(incoming: 0, outgoing: 1), "h2": .init(incoming: 1, outgoing: 0),
                ]
            )
            #expect(try await store.vm(named: "vm-1")?.hostID == "h1")

            await leader.migrationProgress(Self.progress("vm-1", .copying, remaining: 100 << 20), from: "h1")
            let running = try await Self.status(leader, accepted.id)
            #expect(running.migration?.phase == .copying)
            #expect(running.migration?.dataRemainingBytes == 100 << 20)
            #expect(running.migration?.iteration == 3)
            #expect((running.migration?.startedAtUnixMilliseconds ?? 0) > 0)

            let steps = [MigrationProgress.TakenStep(.raiseDowntime, atMilliseconds: 3_100)]
            await leader.migrationProgress(Self.progress("vm-1", .completed, steps: steps), from: "h1")
            await fake.endMigration("vm-1", .complete)
            let status = try await Support.finished(leader, accepted.id)
            #expect(status.state == .succeeded, "\(status.message)")
            #expect(status.outcomes.first?.state == .done)
            #expect(status.outcomes.first?.hostID == "h2")
            #expect(status.migration?.phase == .completed)
            #expect(status.migration?.steps == steps)
            #expect(status.message.contains("from h1 to h2"))
            #expect(try await store.vm(named: "vm-1")?.hostID == "h2")
            #expect(try await store.vm(named: "vm-1")?.state == .running)
            #expect(await fake.running("vm-1") == ["h2"])
            // The slot and the reservation are free again; the stored task keeps the steps.
            #expect(await leader.migrations.reserved(on: "h2") == .zero)
            #expect(await leader.hostsWithMigrations().isEmpty)
            #expect(try await store.task(id: accepted.id)?.migration?.steps.map(\.step) == ["raise_downtime"])
        }
    }

    /// Inventories sampled during the move (the destination lists the incoming domain paused, the source still
    /// lists it) and right after it never mark the VM duplicated or missing.
    @Test func inventoriesDuringAndJustAfterAMoveAreLeftAlone() async throws {
        try await Self.withRunningVMs(hosts: ["h1", "h2"], count: 1) { leader, store, fake in
            let accepted = try await Self.accepted(leader, "vm-1", to: "h2")
            #expect(await Support.eventually { await fake.migrating == ["vm-1"] })
            let during = (await fake.snapshot("h1"), await fake.snapshot("h2"))
            await leader.inventoryReceived(during.1, from: "h2")
            await leader.inventoryReceived(during.0, from: "h1")
            #expect(try await store.vm(named: "vm-1")?.state == .running)
            await fake.endMigration("vm-1", .complete)
            _ = try await Support.finished(leader, accepted.id)
            // A source inventory sampled before the end, arriving after it.
            await leader.inventoryReceived(during.0, from: "h1")
            let vm = try #require(try await store.vm(named: "vm-1"))
            #expect(vm.state == .running && vm.hostID == "h2", "\(vm.state) on \(vm.hostID ?? "-"): \(vm.reason ?? "")")
        }
    }

    // MARK: Bad input

    @Test func badRequestsAreRefusedNamingTheProblemAndRecordNothing() async throws {
        var configuration = ManagerConfiguration()
        configuration.heartbeatTimeout = .seconds(1)
        configuration.heartbeatInterval = .milliseconds(300)
        try await Self.withRunningVMs(
            hosts: ["h1", "h2", "h3", "h4"],
            count: 2,
            cores: 1,
            configuration: configuration
        ) { leader, store, fake in
            // vm-1 on h1, vm-2 on h2 (one core each); h3 and h4 are free.
            try await Support.cluster(leader, "idle", count: 1, prefix: "idle")
            let before = try await store.tasks().count
            let cases: [(String, String, CommandResult.Code, String)] = [
                ("nope", "h2", .notFound, "no VM named 'nope'"),
                ("idle-1", "h2", .conflict, "idle-1 is pending, not running"),
                ("vm-1", "h9", .notFound, "no host 'h9'"),
                ("vm-1", "h1", .invalidArgument, "vm-1 already runs on h1"),
                ("vm-1", "h2", .conflict, "h2 is full: vm-1 needs 1 core, and h2 has 0 cores free"),
            ]
            for (vm, host, code, message) in cases {
                let result = try #require(await Self.refusal(leader, vm, to: host), "\(vm) → \(host) accepted")
                #expect(result.code == code, "\(vm) → \(host): \(result.message)")
                #expect(result.message.contains(message), "\(result.message)")
            }
            let offline = await leader.handle(.migrate(vm: "vm-1", to: "h3", method: .offline))
            guard case .commandResult(let refused) = offline else {
                Issue.record("offline accepted")
                return
            }
            #expect(refused.code == .invalidArgument)

            // Not awake: going down (ordered, still connected), asleep, failed.
            await leader.powerEvent(.powerDownOrdered, for: "h3")
            #expect(await Self.refusal(leader, "vm-1", to: "h3")?.message.contains("h3 is going down") == true)
            await fake.disconnect("h3")
            #expect(await Self.refusal(leader, "vm-1", to: "h3")?.message.contains("h3 is asleep") == true)
            await fake.fail("h4")
            #expect(await Self.refusal(leader, "vm-1", to: "h4")?.message.contains("h4 is FAILED") == true)

            #expect(try await store.tasks().count == before)
            #expect(await fake.sent.filter { $0.command == "migrate" }.isEmpty)
            #expect(await leader.hostsWithMigrations().isEmpty)
        }
    }

    @Test func aReservationFillsTheDestinationForOtherMigrationsAndPlacements() async throws {
        try await Self.withRunningVMs(hosts: ["h1", "h2", "h3"], count: 2, cores: 1) { leader, store, fake in
            // vm-1 on h1, vm-2 on h2; h3's one core is reserved for vm-1 while it moves.
            let first = try await Self.accepted(leader, "vm-1", to: "h3")
            #expect(await Support.eventually { await fake.migrating == ["vm-1"] })
            let again = try #require(await Self.refusal(leader, "vm-1", to: "h3"))
            #expect(again.code == .conflict)
            #expect(again.message == "vm-1 is already migrating to h3 (task \(first.id))")
            let full = try #require(await Self.refusal(leader, "vm-2", to: "h3"))
            #expect(full.message.contains("h3 is full"), "\(full.message)")
            // A new VM finds no room: h1 and h2 hold theirs, h3 is reserved.
            try await Support.cluster(leader, "late", count: 1, prefix: "late")
            let start = try await Support.finished(leader, try await Support.submit(leader, .start, "late"))
            #expect(start.outcomes.first?.state == .unplaced, "\(start.outcomes)")
            // The energy saver sees h3 receiving a VM.
            let energy = try await leader.energyHosts(await fake.hosts(), at: .now)
            #expect(energy.first { $0.id == "h3" }?.isBusy == true)
            await fake.endMigration("vm-1", .complete)
            _ = try await Support.finished(leader, first.id)
            #expect(try await store.vm(named: "vm-1")?.hostID == "h3")
        }
    }

    // MARK: Limits

    @Test func overTheLimitAMigrationWaitsItsTurn() async throws {
        var configuration = ManagerConfiguration()
        configuration.migration.maximumIncomingPerHost = 1
        try await Self.withRunningVMs(hosts: ["h1", "h2"], count: 2, configuration: configuration) {
            leader,
            store,
            fake in
            let first = try await Self.accepted(leader, "vm-1", to: "h2")
            let second = try await Self.accepted(leader, "vm-2", to: "h2")
            #expect(await Support.eventually { await fake.migrating == ["vm-1"] })
            #expect(
                await Support.eventually {
                    (try? await Self.status(leader, second.id))?.message.contains("max_incoming_per_host") == true
                }
            )
            #expect(try await Self.status(leader, second.id).migration?.phase == .waiting)
            // Both are reserved on h2 and keep it awake, the waiting one too.
            #expect(await leader.hostsWithMigrations()["h2"]?.incoming == 2)
            await fake.endMigration("vm-1", .complete)
            #expect(try await Support.finished(leader, first.id).state == .succeeded)
            #expect(await Support.eventually { await fake.migrating == ["vm-2"] })
            await fake.endMigration("vm-2", .complete)
            #expect(try await Support.finished(leader, second.id).state == .succeeded)
            #expect(try await store.vms(onHost: "h2").map(\.name) == ["vm-1", "vm-2"])
        }
    }

    @Test func aWaitingMigrationCancelledEndsWithoutACommand() async throws {
        var configuration = ManagerConfiguration()
        configuration.migration.maximumPerCluster = 1
        try await Self.withRunningVMs(hosts: ["h1", "h2"], count: 2, configuration: configuration) {
            leader,
            store,
            fake in
            let first = try await Self.accepted(leader, "vm-1", to: "h2")
            let second = try await Self.accepted(leader, "vm-2", to: "h2")
            #expect(await Support.eventually { await fake.migrating == ["vm-1"] })
            guard case .commandResult(let cancelled) = await leader.handle(.migrateCancel(vm: "vm-2")) else {
                Issue.record("no CommandResult")
                return
            }
            #expect(cancelled.message == "cancelled the migration of vm-2 before it started")
            let status = try await Support.finished(leader, second.id)
            #expect(status.migration?.phase == .aborted)
            #expect(status.message.contains("before it started"), "\(status.message)")
            #expect(await leader.hostsWithMigrations()["h2"]?.incoming == 1)
            await fake.endMigration("vm-1", .complete)
            #expect(try await Support.finished(leader, first.id).state == .succeeded)
            #expect(await fake.sent.filter { $0.command == "migrate" }.map(\.vm) == ["vm-1"])
            #expect(await fake.cancels.isEmpty)
            #expect(try await store.vm(named: "vm-2")?.hostID == "h1")
        }
    }

    // MARK: Endings other than completed

    @Test func aCancelledMigrationLeavesTheVMOnTheSource() async throws {
        try await Self.withRunningVMs(hosts: ["h1", "h2"], count: 1) { leader, store, fake in
            let accepted = try await Self.accepted(leader, "vm-1", to: "h2")
            #expect(await Support.eventually { await fake.migrating == ["vm-1"] })
            guard case .commandResult(let cancelled) = await leader.handle(.migrateCancel(vm: "vm-1")) else {
                Issue.record("no CommandResult")
                return
            }
            #expect(cancelled.isOK, "\(cancelled.message)")
            let status = try await Support.finished(leader, accepted.id)
            #expect(status.state == .failed)
            #expect(status.migration?.phase == .aborted)
            #expect(status.message.contains("cancelled"), "\(status.message)")
            #expect(await fake.cancels.map(\.hostID) == ["h1"])
            #expect(try await store.vm(named: "vm-1")?.hostID == "h1")
            #expect(await fake.running("vm-1") == ["h1"])
            guard case .commandResult(let nothing) = await leader.handle(.migrateCancel(vm: "vm-1")) else { return }
            #expect(nothing.code == .notFound)
            #expect(nothing.message == "vm-1 is not migrating")
        }
    }

    @Test func aWatchdogAbortAndALibvirtFailureEachEndOnceOnTheSource() async throws {
        try await Self.withRunningVMs(hosts: ["h1", "h2"], count: 2) { leader, store, fake in
            let aborted = try await Self.accepted(leader, "vm-1", to: "h2")
            let failed = try await Self.accepted(leader, "vm-2", to: "h2")
            #expect(await Support.eventually { await fake.migrating == ["vm-1", "vm-2"] })
            let steps = [
                MigrationProgress.TakenStep(.raiseDowntime, atMilliseconds: 20_000),
                MigrationProgress.TakenStep(.abort, atMilliseconds: 40_000),
            ]
            await leader.migrationProgress(Self.progress("vm-1", .aborted, steps: steps), from: "h1")
            await fake.endMigration("vm-1", .watchdogAbort)
            await fake.endMigration("vm-2", .fail)
            let abortedStatus = try await Support.finished(leader, aborted.id)
            #expect(abortedStatus.state == .failed)
            #expect(abortedStatus.migration?.phase == .aborted)
            #expect(abortedStatus.migration?.steps == steps)
            #expect(abortedStatus.message.contains("watchdog"), "\(abortedStatus.message)")
            let failedStatus = try await Support.finished(leader, failed.id)
            #expect(failedStatus.migration?.phase == .failed)
            #expect(failedStatus.message.contains("h1: libvirt failed"), "\(failedStatus.message)")
            for name in ["vm-1", "vm-2"] {
                #expect(try await store.vm(named: name)?.hostID == "h1")
                #expect(await fake.running(name) == ["h1"])
            }
        }
    }

    // MARK: Agents that go away

    @Test func aDestinationAgentKilledMidMigrationFailsTheTaskNamingItAndTheVMStaysOnTheSource() async throws {
        try await Self.withRunningVMs(hosts: ["h1", "h2"], count: 1) { leader, store, fake in
            let accepted = try await Self.accepted(leader, "vm-1", to: "h2")
            #expect(await Support.eventually { await fake.migrating == ["vm-1"] })
            await fake.fail("h2")
            let status = try await Support.finished(leader, accepted.id)
            #expect(status.state == .failed)
            #expect(status.migration?.phase == .failed)
            #expect(status.message.contains("destination h2"), "\(status.message)")
            #expect(status.outcomes.first?.hostID == "h1")
            #expect(await fake.cancels.map(\.hostID) == ["h1"])
            #expect(try await store.vm(named: "vm-1")?.hostID == "h1")
            #expect(await fake.running("vm-1") == ["h1"])
            #expect(await leader.hostsWithMigrations().isEmpty)
        }
    }

    /// The source's agent restarts mid-migration, which completed meanwhile: once the agent is back, the
    /// inventories say where the VM runs, and it is recorded there only.
    @Test func aSourceAgentRestartedMidMigrationIsReconciledFromTheInventories() async throws {
        var configuration = ManagerConfiguration()
        configuration.heartbeatTimeout = .seconds(1)
        configuration.heartbeatInterval = .milliseconds(300)
        try await Self.withRunningVMs(hosts: ["h1", "h2"], count: 1, configuration: configuration) {
            leader,
            store,
            fake in
            let uuid = try #require(try await store.vm(named: "vm-1")?.id)
            let accepted = try await Self.accepted(leader, "vm-1", to: "h2")
            #expect(await Support.eventually { await fake.migrating == ["vm-1"] })
            await fake.disconnect("h1")
            // The leader stops waiting for the lost answer (the fake then drops its incoming domain).
            #expect(await Support.eventually { await fake.migrationsEnded == ["vm-1"] })
            // libvirt finished the move while the agent was away.
            await fake.powerOff("vm-1", on: "h1")
            await fake.run("vm-1", uuid: uuid, on: "h2")
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await Self.status(leader, accepted.id).state == .running)
            await fake.reconnect("h1")
            let h1 = await fake.snapshot("h1")
            let h2 = await fake.snapshot("h2")
            await leader.inventoryReceived(h1, from: "h1")
            await leader.inventoryReceived(h2, from: "h2")
            let status = try await Support.finished(leader, accepted.id)
            #expect(status.state == .succeeded, "\(status.message)")
            #expect(try await store.vm(named: "vm-1")?.hostID == "h2")
            #expect(try await store.vm(named: "vm-1")?.state == .running)
            #expect(await fake.running("vm-1") == ["h2"])
        }
    }

    @Test func aSourceThatNeverReturnsFailsTheTaskNamingIt() async throws {
        var configuration = ManagerConfiguration()
        configuration.heartbeatTimeout = .seconds(1)
        configuration.heartbeatInterval = .milliseconds(300)
        configuration.migration.outcomeWait = .seconds(2)
        try await Self.withRunningVMs(hosts: ["h1", "h2"], count: 1, configuration: configuration) {
            leader,
            store,
            fake in
            let accepted = try await Self.accepted(leader, "vm-1", to: "h2")
            #expect(await Support.eventually { await fake.migrating == ["vm-1"] })
            await fake.disconnect("h1")
            let status = try await Support.finished(leader, accepted.id)
            #expect(status.state == .failed)
            #expect(status.message.contains("h1 did not report"), "\(status.message)")
            #expect(try await store.vm(named: "vm-1")?.hostID == "h1")
        }
    }

    // MARK: Progress

    /// A push arriving on an agent's connection reaches the task through the agent session; status requests see
    /// every push, the store only every `progress_write_interval` and the final one.
    @Test func progressPushesReachTheTaskAndTheStoreIsWrittenSparingly() async throws {
        var configuration = ManagerConfiguration()
        configuration.migration.progressWriteInterval = .seconds(3600)
        try await Self.withRunningVMs(hosts: ["h1", "h2"], count: 1, configuration: configuration) {
            leader,
            store,
            fake in
            let session = AgentSession(
                registry: HostRegistry(ringCapacity: 4, logger: Logger(label: "test")),
                observer: leader,
                logger: Logger(label: "test")
            )
            let accepted = try await Self.accepted(leader, "vm-1", to: "h2")
            #expect(await Support.eventually { await fake.migrating == ["vm-1"] })
            #expect(
                await Support.eventually { (try? await store.task(id: accepted.id))?.migration?.phase == .starting }
            )
            for remaining: UInt64 in [200 << 20, 100 << 20] {
                let push = Self.progress("vm-1", .copying, remaining: remaining)
                await session.handle(.migrationProgress(push), from: "h1", logger: Logger(label: "test"))
            }
            // A push about the VM from another host, or about another VM, belongs to no task.
            await session.handle(
                .migrationProgress(Self.progress("vm-1", .copying, remaining: 1)),
                from: "h2",
                logger: Logger(label: "test")
            )
            await session.handle(
                .migrationProgress(Self.progress("other", .copying, remaining: 1)),
                from: "h1",
                logger: Logger(label: "test")
            )
            let seen = try await Self.status(leader, accepted.id)
            #expect(seen.migration?.dataRemainingBytes == 100 << 20)
            #expect(seen.migration?.phase == .copying)
            // Written once when it started; the pushes wait for the interval.
            let stored = try #require(try await store.task(id: accepted.id)?.migration)
            #expect(stored.phase == .starting)
            #expect(stored.dataRemainingBytes == 0)
            let steps = [MigrationProgress.TakenStep(.pause, atMilliseconds: 9_000)]
            await session.handle(
                .migrationProgress(Self.progress("vm-1", .completed, steps: steps)),
                from: "h1",
                logger: Logger(label: "test")
            )
            #expect(try await store.task(id: accepted.id)?.migration?.phase == .completed)
            await fake.endMigration("vm-1", .complete)
            let status = try await Support.finished(leader, accepted.id)
            #expect(status.migration?.steps == steps)
        }
    }

    // MARK: Manager restart

    /// The manager died while a migration ran; the agent finished it meanwhile. The resumed task asks nothing of
    /// the agents: the hosts' inventories say where the VM runs.
    @Test func aMigrationUnderWayWhenTheManagerStoppedIsSettledFromTheInventories() async throws {
        let database = TemporaryStore()
        defer { database.remove() }
        let store = try database.open()
        let uuid = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
        try await store.defineVirtualCluster("web")
        try await store.addVM(
            StoredVM(
                id: uuid,
                name: "vm-1",
                vcName: "web",
                templateXML: Support.template,
                virtualCPUs: 1,
                memoryBytes: 256 << 20,
                hostID: "h1",
                state: .running
            )
        )
        var record = StoredMigration(
            vmID: uuid,
            sourceHostID: "h1",
            destinationHostID: "h2",
            method: .live,
            reason: "operator",
            phase: .copying,
            startedAt: Date()
        )
        record.steps = [StoredMigration.Step(step: "raise_downtime", atMilliseconds: 1_000)]
        try await store.createTask(
            StoredTask(
                id: "t-resumed",
                kind: "migrate",
                vcName: "web",
                vmName: "vm-1",
                outcomes: [.init(vm: "vm-1", state: .inProgress, hostID: "h1")],
                state: .running,
                createdAt: Date(),
                migration: record
            )
        )
        let fake = FakeGroupManager(hosts: ["h1", "h2"])
        await fake.run("vm-1", uuid: uuid, on: "h2")
        _ = await fake.snapshot("h1")
        _ = await fake.snapshot("h2")
        var configuration = ManagerConfiguration()
        configuration.heartbeatTimeout = .seconds(1)
        configuration.heartbeatInterval = .milliseconds(300)
        let leader = try GroupLeader(
            store: store,
            groupManager: fake,
            configuration: configuration,
            logger: Logger(label: "test")
        )
        await Self.join(leader, ["h1", "h2"])
        let runner = Task { await leader.run() }
        defer { runner.cancel() }
        let status = try await Support.finished(leader, "t-resumed")
        #expect(status.state == .succeeded, "\(status.message)")
        #expect(status.migration?.steps.map(\.step) == [.raiseDowntime])
        #expect(try await store.vm(named: "vm-1")?.hostID == "h2")
        #expect(await fake.sent.isEmpty, "nothing asked of the agents")
        #expect(await leader.hostsWithMigrations().isEmpty)
    }
}
