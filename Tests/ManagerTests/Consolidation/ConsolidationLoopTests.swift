import Foundation
import Logging
import Placement
import Testing
import Wire

@testable import Manager

/// The loop with the real group leader (its store, placement and migration tasks) over `FakeGroupManager`, and the
/// real relocation and consolidation policies: plans, migrations started as tasks, waiting for them, refusing an
/// on-demand run meanwhile. Estimates are the VMs' requests (the fake has no monitoring).
@Suite struct ConsolidationLoopTests {
    typealias Support = GroupLeaderTests
    typealias Migration = GroupLeaderMigrationTests

    static func loop(_ leader: GroupLeader, _ configuration: ManagerConfiguration) -> ConsolidationLoop {
        ConsolidationLoop(
            configuration: configuration,
            planner: PlacementLoadPlanner(configuration: configuration),
            policyName: configuration.consolidation.policy.rawValue,
            migrations: leader,
            state: { try await leader.planningState() },
            demands: { [] },
            announcer: leader,
            logger: Logger(label: "test")
        )
    }

    /// Three 4-core hosts with one 1-core VM each (round robin): not underloaded (CPU 25 % > MIN 20 %), and one host
    /// could carry all three within MID.
    static func spread(
        policy: ConsolidationPolicyName,
        _ body: (GroupLeader, ManagerStore, FakeGroupManager, ManagerConfiguration) async throws -> Void
    ) async throws {
        var configuration = ManagerConfiguration()
        configuration.placementPolicy = .roundRobin
        configuration.consolidation.policy = policy
        try await Migration.withRunningVMs(
            hosts: ["h1", "h2", "h3"],
            count: 3,
            cores: 4,
            configuration: configuration
        ) { leader, store, fake in
            let hosts = try await store.vms().compactMap(\.hostID).sorted()
            #expect(hosts == ["h1", "h2", "h3"])
            try await body(leader, store, fake, configuration)
        }
    }

    @Test(arguments: [ConsolidationPolicyName.costAware, .sercon])
    func aDryRunPrintsAPlanThatFreesTwoHostsAndStartsNothing(policy: ConsolidationPolicyName) async throws {
        try await Self.spread(policy: policy) { leader, store, fake, configuration in
            let loop = Self.loop(leader, configuration)
            let plan = await loop.consolidate(dryRun: true)
            #expect(plan.policy == policy.rawValue)
            #expect(!plan.started)
            #expect(plan.reason == "", "\(plan.reason)")
            #expect(plan.moves.count == 2, "\(plan)")
            #expect(plan.hostsFreed.count == 2, "\(plan)")
            #expect(plan.hostsUsedBefore == 3 && plan.hostsUsedAfter == 1 && plan.hostsLowerBound == 1, "\(plan)")
            #expect(plan.moves.allSatisfy { $0.memoryBytes == 256 << 20 && $0.costSeconds > 0 && $0.taskID.isEmpty })
            #expect(plan.costSeconds > 0 && plan.costBytes >= 512 << 20)
            // Every move ends on the one host kept, away from the hosts freed.
            let kept = Set(["h1", "h2", "h3"]).subtracting(plan.hostsFreed)
            #expect(kept.count == 1 && plan.moves.allSatisfy { kept.contains($0.toHost) }, "\(plan)")
            #expect(await fake.migrating.isEmpty)
            #expect(await leader.hostsWithMigrations().isEmpty)
            #expect(await loop.phase == .idle)
            let unmoved = try await store.vms().compactMap(\.hostID).sorted()
            #expect(unmoved == ["h1", "h2", "h3"])
        }
    }

    /// A test-driver agent announces no `liveMigration`: planning would only make failed tasks on its host.
    @Test func hostsWhoseAgentsCannotMigrateAreNeitherEmptiedNorFilled() async throws {
        try await Self.spread(policy: .costAware) { leader, store, fake, configuration in
            await fake.removeCapability(.liveMigration, of: "h1")
            await fake.removeCapability(.liveMigration, of: "h2")
            #expect(await leader.hostsPlanningLeavesAlone() == ["h1", "h2"])
            let loop = Self.loop(leader, configuration)
            let plan = await loop.consolidate(dryRun: true)
            #expect(plan.moves.isEmpty, "\(plan)")
            #expect(plan.hostsFreed.isEmpty, "\(plan)")
            #expect(!plan.reason.isEmpty)
            await fake.removeCapability(.liveMigration, of: "h3")
            #expect(await leader.hostsPlanningLeavesAlone() == ["h1", "h2", "h3"])
            #expect(await loop.consolidate(dryRun: false).moves.isEmpty)
            #expect(await leader.hostsWithMigrations().isEmpty)
        }
    }

    @Test func aConsolidationStartsItsMigrationsWaitsForThemAndRefusesAnotherMeanwhile() async throws {
        try await Self.spread(policy: .costAware) { leader, store, fake, configuration in
            let loop = Self.loop(leader, configuration)
            let plan = await loop.consolidate(dryRun: false)
            #expect(plan.started, "\(plan.reason)")
            #expect(plan.moves.count == 2)
            let tasks = plan.moves.map(\.taskID)
            #expect(tasks.allSatisfy { $0.hasPrefix("t-") }, "\(plan)")
            #expect(await Support.eventually { await fake.migrating.count == 2 })
            #expect(await loop.phase == .migrating(.consolidation, Set(tasks)))
            // The tasks are the leader's migration tasks, with the loop's reason.
            let first = try await Migration.status(leader, tasks[0])
            #expect(first.kind == "migrate")
            #expect(first.migration?.reason.hasPrefix("consolidation (cost-aware)") == true, "\(first)")

            // Busy: a second run is refused, naming what runs; a dry run still answers.
            let refused = await loop.consolidate(dryRun: false)
            #expect(!refused.started)
            #expect(refused.reason == "2 migrations of a consolidation plan still run")
            #expect(refused.moves.isEmpty)
            let dry = await loop.consolidate(dryRun: true)
            #expect(!dry.started)

            // A refresh while they run plans nothing.
            await loop.refresh()
            #expect(await loop.phase == .migrating(.consolidation, Set(tasks)))

            for vm in await fake.migrating.sorted() { await fake.endMigration(vm, .complete) }
            for id in tasks { #expect(try await Support.finished(leader, id).state == .succeeded) }
            await loop.refresh()
            #expect(await loop.phase == .idle)
            let kept = Set(["h1", "h2", "h3"]).subtracting(plan.hostsFreed)
            #expect(Set(try await store.vms().compactMap(\.hostID)) == kept)
            // Nothing more to free.
            let after = await loop.consolidate(dryRun: true)
            #expect(after.moves.isEmpty && after.hostsFreed.isEmpty && !after.reason.isEmpty, "\(after)")
        }
    }

    @Test func theBootstrapHandsConsolidateToTheLoop() async throws {
        try await Self.spread(policy: .sercon) { leader, _, _, configuration in
            let logger = Logger(label: "test")
            let control = ControlSession(
                registry: HostRegistry(ringCapacity: 4, logger: logger),
                leader: leader,
                managerID: "m",
                softwareVersion: "1",
                heartbeatTimeout: .seconds(10),
                startedAt: .now,
                logger: logger,
                consolidation: Self.loop(leader, configuration)
            )
            let reply = await control.answer(.clusterRequest(.consolidate(dryRun: true)), at: .now)
            guard case .consolidationReply(let plan) = reply else {
                Issue.record("answered \(String(describing: reply))")
                return
            }
            #expect(plan.policy == "sercon" && plan.hostsFreed.count == 2)
            // Without a loop the request is refused, naming why.
            let without = ControlSession(
                registry: HostRegistry(ringCapacity: 4, logger: logger),
                leader: leader,
                managerID: "m",
                softwareVersion: "1",
                heartbeatTimeout: .seconds(10),
                startedAt: .now,
                logger: logger
            )
            let refused = await without.answer(.clusterRequest(.consolidate(dryRun: true)), at: .now)
            #expect(
                refused
                    == .commandResult(CommandResult(code: .unsupported, message: "this manager runs no consolidation"))
            )
        }
    }

    /// Three 2-core hosts, first fit: h1 runs two 1-core VMs (CPU 100 % > MAX 90 %), h2 one. A refresh relieves h1
    /// by one migration, onto the host that stays within MID (h3); once it ended, the next refresh finds nothing.
    @Test func aRefreshRelievesAnOverloadedHost() async throws {
        var configuration = ManagerConfiguration()
        configuration.placementPolicy = .firstFit
        try await Migration.withRunningVMs(
            hosts: ["h1", "h2", "h3"],
            count: 3,
            cores: 2,
            configuration: configuration
        ) { leader, store, fake in
            let placed = try await store.vms().reduce(into: [String: Int]()) { $0[$1.hostID ?? "", default: 0] += 1 }
            #expect(placed == ["h1": 2, "h2": 1])
            let loop = Self.loop(leader, configuration)
            await loop.refresh()
            #expect(await Support.eventually { await fake.migrating.count == 1 })
            guard case .migrating(.relocation, let running) = await loop.phase, let id = running.first else {
                Issue.record("phase \(await loop.phase)")
                return
            }
            let status = try await Migration.status(leader, id)
            #expect(status.migration?.sourceHostID == "h1")
            #expect(status.migration?.destinationHostID == "h3")
            #expect(status.migration?.reason.hasPrefix("relocation") == true)
            let refused = await loop.consolidate(dryRun: false)
            #expect(refused.reason == "1 migration of a relocation plan still runs")

            for vm in await fake.migrating.sorted() { await fake.endMigration(vm, .complete) }
            #expect(try await Support.finished(leader, id).state == .succeeded)
            await loop.refresh()
            #expect(await loop.phase == .idle)
            #expect(await fake.migrating.isEmpty)
            let after = try await store.vms().reduce(into: [String: Int]()) { $0[$1.hostID ?? "", default: 0] += 1 }
            #expect(after == ["h1": 1, "h2": 1, "h3": 1])
        }
    }

    @Test func relocationSwitchedOffPlansNothingOnARefresh() async throws {
        var configuration = ManagerConfiguration()
        configuration.placementPolicy = .firstFit
        configuration.relocation.enabled = false
        try await Migration.withRunningVMs(
            hosts: ["h1", "h2", "h3"],
            count: 3,
            cores: 2,
            configuration: configuration
        ) { leader, _, fake in
            let loop = Self.loop(leader, configuration)
            await loop.refresh()
            #expect(await loop.phase == .idle)
            #expect(await fake.migrating.isEmpty)
        }
    }

    /// Before the fix, a VM whose migration failed was planned again at the very next refresh, and failed again,
    /// a failed task every refresh for as long as the host stayed overloaded.
    @Test func aVMWhoseMigrationFailedIsLeftInPlaceForAWhile() async throws {
        var configuration = ManagerConfiguration()
        configuration.placementPolicy = .firstFit
        try await Migration.withRunningVMs(
            hosts: ["h1", "h2", "h3"],
            count: 3,
            cores: 2,
            configuration: configuration
        ) { leader, store, fake in
            let loop = Self.loop(leader, configuration)
            await loop.refresh()
            #expect(await Support.eventually { await fake.migrating.count == 1 })
            guard case .migrating(.relocation, let running) = await loop.phase, let id = running.first else {
                Issue.record("phase \(await loop.phase)")
                return
            }
            let failed = try #require(await fake.migrating.first)
            await fake.endMigration(failed, .fail)
            #expect(try await Support.finished(leader, id).state == .failed)
            // h1 is still overloaded: its other VM may be tried, never the one whose migration just failed.
            await loop.refresh()
            if case .migrating(.relocation, let again) = await loop.phase, let second = again.first {
                #expect(await Support.eventually { await fake.migrating.count == 1 })
                let other = try #require(await fake.migrating.first)
                #expect(other != failed)
                await fake.endMigration(other, .fail)
                #expect(try await Support.finished(leader, second).state == .failed)
                await loop.refresh()
            }
            // Both held back now: nothing more is tried, however often the loop looks.
            await loop.refresh()
            #expect(await loop.phase == .idle)
            #expect(await fake.migrating.isEmpty)
            let tasks = try await store.tasks(state: .failed).filter { $0.kind == "migrate" }
            #expect(tasks.count <= 2)
            #expect(Set(tasks.compactMap(\.migration?.vmID)).count == tasks.count, "\(tasks)")
        }
    }

    /// The system events on the leader's bus up to now, as (eventType, message JSON); a marker published last ends
    /// the read, so nothing waits for events that never come.
    static func systemEvents(_ subscription: EventBusSubscription, on bus: EventBus) async -> [(String, [String: Any])] {
        bus.publish(ManagerEvent(exchange: .monitoring, routingKey: "end", eventType: "END", message: Data("{}".utf8)))
        var events: [(String, [String: Any])] = []
        while case .event(let event)? = await subscription.next(), event.eventType != "END" {
            guard event.exchange == .system else { continue }
            let message = (try? JSONSerialization.jsonObject(with: event.message)) as? [String: Any] ?? [:]
            events.append((event.eventType, message))
        }
        return events
    }

    /// h1 over MAX (two 1-core VMs on 2 cores): LC_ANOMALY with its LocalControllerDescription on the system exchange,
    /// once, though the next refreshes still see it until its migration ends.
    @Test func anOverloadedHostIsAnnouncedAsLCAnomalyOnce() async throws {
        var configuration = ManagerConfiguration()
        configuration.placementPolicy = .firstFit
        try await Migration.withRunningVMs(
            hosts: ["h1", "h2", "h3"],
            count: 3,
            cores: 2,
            configuration: configuration
        ) { leader, _, fake in
            let bus = await leader.events
            let subscription = bus.subscribe()
            defer { subscription.close() }
            let loop = Self.loop(leader, configuration)
            await loop.refresh()
            #expect(await Support.eventually { await fake.migrating.count == 1 })
            await loop.refresh()
            for vm in await fake.migrating.sorted() { await fake.endMigration(vm, .complete) }
            #expect(await Support.eventually { await fake.migrating.isEmpty })
            let anomalies = await Self.systemEvents(subscription, on: bus).filter { $0.0 == "LC_ANOMALY" }
            #expect(anomalies.map { $0.1["id"] as? String } == ["h1"], "\(anomalies)")
            let description = try #require(anomalies.first?.1)
            #expect(description["hostname"] as? String == "h1" && description["totalCapacity"] is [Any], "\(description)")
        }
    }

    /// A consolidation round: RECONFIGURATION with Snooze's ReconfigurationPlan as its migrations start (the plan)
    /// and once the last ended (what it did): both times the plan's two moves and the two hosts it frees.
    @Test func aConsolidationRoundIsAnnouncedAsReconfigurationAsItStartsAndEnds() async throws {
        try await Self.spread(policy: .costAware) { leader, _, fake, configuration in
            let bus = await leader.events
            let subscription = bus.subscribe()
            defer { subscription.close() }
            let loop = Self.loop(leader, configuration)
            let plan = await loop.consolidate(dryRun: false)
            #expect(plan.started && plan.moves.count == 2, "\(plan.reason)")
            #expect(await Support.eventually { await fake.migrating.count == 2 })
            for vm in await fake.migrating.sorted() { await fake.endMigration(vm, .complete) }
            for move in plan.moves {
                let finished = try await Support.finished(leader, move.taskID)
                #expect(finished.state == .succeeded)
            }
            await loop.refresh()
            #expect(await loop.phase == .idle)

            let rounds = await Self.systemEvents(subscription, on: bus).filter { $0.0 == "RECONFIGURATION" }.map(\.1)
            #expect(rounds.count == 2, "started and ended: \(rounds)")
            let mapping = Dictionary(uniqueKeysWithValues: plan.moves.map { ($0.vm, $0.toHost) })
            for round in rounds {
                #expect(Set(round.keys) == ["mapping", "numberOfMigrations", "numberOfReleasedNodes"], "\(round)")
                #expect(round["mapping"] as? [String: String] == mapping, "\(round)")
                #expect(round["numberOfMigrations"] as? Int == 2, "\(round)")
                #expect(round["numberOfReleasedNodes"] as? Int == plan.hostsFreed.count, "\(round)")
            }
        }
    }
}
