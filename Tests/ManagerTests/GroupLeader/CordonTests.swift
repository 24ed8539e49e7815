import Energy
import Foundation
import Logging
import Placement
import Testing
import Wire

@testable import Manager

/// `torpor host cordon|uncordon`, and migrations whose destination the manager chooses (`torpor host drain`),
/// through `FakeGroupManager`: a cordoned host gets no VM, by a start, a migration, relocation or consolidation; the
/// energy saver leaves it alone; the cordon is in the store for the next leader.
@Suite struct CordonTests {
    typealias Support = GroupLeaderTests
    typealias Migrations = GroupLeaderMigrationTests

    static func command(_ leader: GroupLeader, _ request: ClusterRequest) async -> CommandResult? {
        guard case .commandResult(let result) = await leader.handle(request) else { return nil }
        return result
    }

    @Test func aCordonedHostGetsNoStartAndNoMigrationUntilUncordoned() async throws {
        try await Migrations.withRunningVMs(hosts: ["h1", "h2", "h3"], count: 1, cores: 2) { leader, store, fake in
            // vm-1 on h1.
            let cordoned = try #require(await Self.command(leader, .cordon(host: "h2", reason: "new DIMMs")))
            #expect(cordoned.code == .ok)
            #expect(cordoned.message.hasPrefix("h2 cordoned: no VM is placed or migrated onto it"), "\(cordoned)")
            #expect(try await store.cordons()["h2"]?.reason == "new DIMMs")
            #expect(await leader.cordonReasons() == ["h2": "new DIMMs"])

            // A migration to it is refused naming the cordon and how to lift it; nothing is recorded.
            let before = try await store.tasks().count
            let refused = try #require(await Migrations.refusal(leader, "vm-1", to: "h2"))
            #expect(refused.code == .conflict)
            #expect(
                refused.message
                    == "h2 is cordoned (new DIMMs): no VM is migrated onto it until `torpor host uncordon h2`"
            )
            #expect(try await store.tasks().count == before)

            // Starts skip it: four one-core VMs fill h1's free core and h3, none lands on h2.
            try await Support.cluster(leader, "more", count: 3, prefix: "more")
            let start = try await Support.finished(leader, try await Support.submit(leader, .start, "more"))
            let placed = start.outcomes.map(\.hostID)
            #expect(!placed.contains("h2"), "\(start.outcomes)")
            #expect(start.outcomes.filter { $0.state == .unplaced }.count == 0, "\(start.outcomes)")

            // Relocation and consolidation leave it alone.
            #expect(await leader.hostsPlanningLeavesAlone().contains("h2"))

            // Cordoning again updates the reason and keeps the time; uncordon puts it back, twice is harmless.
            let since = try #require(try await store.cordons()["h2"]?.since)
            let again = try #require(await Self.command(leader, .cordon(host: "h2", reason: "firmware")))
            #expect(again.message.hasPrefix("h2 was already cordoned; reason updated"))
            #expect(try await store.cordons()["h2"] == HostCordon(reason: "firmware", since: since))
            #expect(await Self.command(leader, .uncordon(host: "h2"))?.message == "h2 is back in service")
            #expect(await Self.command(leader, .uncordon(host: "h2"))?.message == "h2 was not cordoned")
            #expect(try await store.cordons().isEmpty)
            let accepted = try await Migrations.accepted(leader, "vm-1", to: "h2")
            #expect(accepted.migration?.destinationHostID == "h2")
            #expect(await Support.eventually { await fake.migrating == ["vm-1"] })
            await fake.endMigration("vm-1", .complete)
            #expect(try await Support.finished(leader, accepted.id).state == .succeeded)
        }
    }

    /// A cordon does not stop a migration onto the host already under way; one still waiting for its slot is
    /// refused when its turn comes. The cordon's answer says which is which.
    @Test func aCordonLetsARunningMigrationFinishAndRefusesAWaitingOne() async throws {
        var configuration = ManagerConfiguration()
        configuration.migration.maximumIncomingPerHost = 1
        try await Migrations.withRunningVMs(hosts: ["h1", "h2"], count: 2, configuration: configuration) {
            leader,
            store,
            fake in
            #expect(try await store.vms(inCluster: "web").map(\.hostID) == ["h1", "h1"])
            let running = try await Migrations.accepted(leader, "vm-1", to: "h2")
            #expect(await Support.eventually { await fake.migrating == ["vm-1"] })
            let waiting = try await Migrations.accepted(leader, "vm-2", to: "h2")
            let cordoned = try #require(await Self.command(leader, .cordon(host: "h2", reason: "fan")))
            #expect(cordoned.code == .ok)
            #expect(
                cordoned.message.hasSuffix(
                    "it runs no VM; the migration of vm-1 (task \(running.id)) onto it is under way and finishes "
                        + "unless cancelled (`torpor vm migrate-cancel vm-1`); the waiting migration of vm-2 "
                        + "(task \(waiting.id)) onto it will be refused"
                ),
                "\(cordoned.message)"
            )
            await fake.endMigration("vm-1", .complete)
            #expect(try await Support.finished(leader, running.id).state == .succeeded)
            let refused = try await Support.finished(leader, waiting.id)
            #expect(refused.state == .failed)
            #expect(refused.message.contains("h2 is cordoned (fan)"), "\(refused.message)")
            #expect(try await store.vm(named: "vm-1")?.hostID == "h2")
            #expect(try await store.vm(named: "vm-2")?.hostID == "h1")
            #expect(await fake.sent.filter { $0.command == "migrate" }.map(\.vm) == ["vm-1"])
        }
    }

    @Test func unknownHostsAndOverlongReasonsAreRefused() async throws {
        try await Migrations.withRunningVMs(hosts: ["h1"], count: 1) { leader, store, _ in
            let unknown = try #require(await Self.command(leader, .cordon(host: "h9", reason: "")))
            #expect(unknown.code == .notFound)
            #expect(unknown.message == "no host h9")
            #expect(await Self.command(leader, .uncordon(host: "h9"))?.code == .notFound)
            // The reason's limit is checked where requests enter (ControlSession validates them).
            #expect(throws: WireValidationError.self) {
                try ClusterRequest.cordon(host: "h1", reason: String(repeating: "x", count: 256)).validated()
            }
            #expect(try await store.cordons().isEmpty)
        }
    }

    @Test func theManagerChoosesADestinationInServiceWhenNoneIsGiven() async throws {
        try await Migrations.withRunningVMs(hosts: ["h1", "h2", "h3"], count: 2, cores: 1) { leader, store, fake in
            // vm-1 on h1, vm-2 on h2; h3 is free but cordoned, so vm-1 has nowhere to go.
            _ = await Self.command(leader, .cordon(host: "h3", reason: ""))
            let nowhere = try #require(await Migrations.refusal(leader, "vm-1", to: ""))
            #expect(nowhere.code == .conflict)
            #expect(nowhere.message.hasPrefix("no destination for vm-1 outside h1: "), "\(nowhere.message)")
            #expect(await fake.sent.filter { $0.command == "migrate" }.isEmpty)

            // Back in service: first fit chooses h3, the only host with room.
            _ = await Self.command(leader, .uncordon(host: "h3"))
            let accepted = try await Migrations.accepted(leader, "vm-1", to: "")
            #expect(accepted.migration?.destinationHostID == "h3")
            #expect(accepted.migration?.sourceHostID == "h1")
            // Its reservation fills h3: vm-2 has nowhere to go now.
            let full = try #require(await Migrations.refusal(leader, "vm-2", to: ""))
            #expect(full.message.hasPrefix("no destination for vm-2 outside h2: "), "\(full.message)")
            #expect(await Support.eventually { await fake.migrating == ["vm-1"] })
            await fake.endMigration("vm-1", .complete)
            #expect(try await Support.finished(leader, accepted.id).state == .succeeded)
            #expect(try await store.vm(named: "vm-1")?.hostID == "h3")
            // A VM that is not running is refused as before.
            #expect(await Migrations.refusal(leader, "nope", to: "")?.code == .notFound)
        }
    }

    @Test func aHostWithoutLiveMigrationIsNeverChosen() async throws {
        try await Migrations.withRunningVMs(hosts: ["h1", "h2"], count: 1, cores: 2) { leader, _, fake in
            await fake.removeCapability(.liveMigration, of: "h2")
            let refused = try #require(await Migrations.refusal(leader, "vm-1", to: ""))
            #expect(
                refused.message
                    == "no destination for vm-1 outside h1: no other host is awake, connected, in service and able "
                    + "to take migrations"
            )
        }
    }

    @Test func theEnergySaverLeavesACordonedHostAlone() async throws {
        var configuration = Support.energyConfiguration()
        configuration.hostWake["h2"] = HostWakeConfiguration(drivers: [Support.noProcessWake])
        configuration.hostWake["h3"] = HostWakeConfiguration(drivers: [Support.noProcessWake])
        try await Migrations.withRunningVMs(hosts: ["h1", "h2", "h3"], count: 1, configuration: configuration) {
            leader,
            _,
            fake in
            // h2 and h3 are idle past idle_time; h2 is cordoned for maintenance: only h3 goes to sleep.
            _ = await Self.command(leader, .cordon(host: "h2", reason: "maintenance"))
            let orderedDown = try await Support.hostsOrderedDown(leader, fake, waitingFor: "h3")
            #expect(orderedDown == ["h3"])
        }
    }

    @Test func aCordonOutlivesTheLeader() async throws {
        let database = TemporaryStore()
        defer { database.remove() }
        let store = try database.open()
        try await store.setCordon(HostCordon(reason: "rack move", since: Date(timeIntervalSince1970: 1)), ofHost: "h2")
        let fake = FakeGroupManager(hosts: ["h1", "h2"], cores: 2)
        let leader = try GroupLeader(
            store: store,
            groupManager: fake,
            configuration: ManagerConfiguration(),
            logger: Logger(label: "test")
        )
        let runner = Task { await leader.run() }
        defer { runner.cancel() }
        #expect(await Support.eventually { await leader.cordonReasons() == ["h2": "rack move"] })
        #expect(await leader.hostsPlanningLeavesAlone().contains("h2"))
    }
}
