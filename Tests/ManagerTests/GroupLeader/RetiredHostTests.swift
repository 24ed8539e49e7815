import Foundation
import Testing
import Wire

@testable import Manager

/// `torpor host remove HOST` through `FakeGroupManager`: only a host that is down and empty is forgotten, and then
/// every record of it goes (state rows, power state, cordon, idle power, assignment), in the store and the leader.
@Suite struct RetiredHostTests {
    typealias Support = GroupLeaderTests
    typealias Migrations = GroupLeaderMigrationTests

    static func remove(_ leader: GroupLeader, _ host: String, confirmedOff: Bool = false) async -> CommandResult? {
        await CordonTests.command(leader, .removeHost(host: host, confirmedOff: confirmedOff))
    }

    @Test func aConnectedHostAHostWithVMsAndAnUnknownOneAreRefusedNamingWhy() async throws {
        try await Migrations.withRunningVMs(hosts: ["h1", "h2"], count: 2, cores: 1) { leader, store, fake in
            // vm-1 on h1, vm-2 on h2.
            let unknown = try #require(await Self.remove(leader, "h9"))
            #expect(unknown.code == .notFound)
            #expect(unknown.message == "no host h9")

            let connected = try #require(await Self.remove(leader, "h1"))
            #expect(connected.code == .conflict)
            #expect(connected.message.hasPrefix("h1 is connected: its agent runs"), "\(connected.message)")

            // Its agent gone, a running VM still keeps it.
            await fake.disconnect("h1")
            let busy = try #require(await Self.remove(leader, "h1"))
            #expect(busy.code == .conflict)
            #expect(
                busy.message
                    == "h1 still has VMs: vm-1 (running); `torpor host drain h1` moves running ones away; if the "
                    + "machine is off for good, `torpor host remove h1 --confirm-off` records them stopped"
            )
            #expect(try await store.hosts().map(\.id).sorted() == ["h1", "h2"])
            #expect(await fake.host("h1") != nil)
            #expect(try await store.vm(named: "vm-1")?.hostID == "h1")
        }
    }

    /// A host that died with VMs on it cannot be drained: the operator confirms it off, and its VMs are recorded
    /// stopped without a host, to start elsewhere; a highly available one restarts at once, the confirmation being
    /// its fence. Never while the host's agent is connected.
    @Test func aDeadHostConfirmedOffIsRemovedAndItsVMsStartElsewhere() async throws {
        let fake = FakeGroupManager(hosts: ["h1", "h2"], cores: 2)
        try await Support.withLeader(fake) { leader, store in
            await Migrations.join(leader, ["h1", "h2"], cores: 2)
            try await Support.cluster(leader, "web", count: 2, highlyAvailable: [2])
            let first = try await Support.finished(leader, try await Support.submit(leader, .start, "web"))
            #expect(first.state == .succeeded, "\(first.message)")
            for host in ["h1", "h2"] { _ = await fake.snapshot(host) }
            // vm-1 and vm-2 (highly available) on h1.
            #expect(try await store.vms(inCluster: "web").map(\.hostID) == ["h1", "h1"])
            let connected = try #require(await Self.remove(leader, "h1", confirmedOff: true))
            #expect(connected.code == .conflict && connected.message.hasPrefix("h1 is connected"), "\(connected)")
            #expect(try await store.vm(named: "vm-1")?.hostID == "h1")

            await fake.fail("h1")
            await leader.hostsFailed([GroupLeaderTests.failedRecord("h1")])
            #expect(try await store.vm(named: "vm-1")?.state == .unreachable)
            let removed = try #require(await Self.remove(leader, "h1", confirmedOff: true))
            #expect(removed.code == .ok, "\(removed.message)")
            #expect(
                removed.message.hasPrefix(
                    "h1 removed: no longer listed, counted or woken; vm-1, recorded on it, is stopped now, without a "
                        + "host: start it again elsewhere with `torpor vc start`; highly available, restarting "
                        + "elsewhere: vm-2 (task t-"
                ),
                "\(removed.message)"
            )
            let vm = try #require(try await store.vm(named: "vm-1"))
            #expect(vm.state == .stopped && vm.hostID == nil)
            #expect(vm.reason == "h1 removed, confirmed off by the operator")
            #expect(try await store.hosts().map(\.id) == ["h2"])
            #expect(
                try await Support.eventually {
                    let restarted = try await store.vm(named: "vm-2")
                    return restarted?.state == .running && restarted?.hostID == "h2"
                }
            )
            let started = try await Support.finished(leader, try await Support.submit(leader, .start, "web"))
            #expect(started.state == .succeeded, "\(started.message) \(started.outcomes)")
            #expect(try await store.vms(inCluster: "web").map(\.hostID) == ["h2", "h2"])
        }
    }

    @Test func aHostWithAMigrationUnderWayIsRefused() async throws {
        try await Migrations.withRunningVMs(hosts: ["h1", "h2", "h3"], count: 1) { leader, store, fake in
            let accepted = try await Migrations.accepted(leader, "vm-1", to: "h2")
            #expect(await Support.eventually { await fake.migrating == ["vm-1"] })
            await fake.disconnect("h2")
            let refused = try #require(await Self.remove(leader, "h2"))
            #expect(refused.code == .conflict)
            #expect(refused.message.hasPrefix("h2 has migrations under way (1 in, 0 out)"), "\(refused.message)")
            #expect(try await store.hosts().contains { $0.id == "h2" })
            await fake.reconnect("h2")
            await fake.endMigration("vm-1", .complete)
            #expect(try await Support.finished(leader, accepted.id).state == .succeeded)
        }
    }

    @Test func aRetiredHostIsForgottenEverywhere() async throws {
        try await Migrations.withRunningVMs(hosts: ["h1", "h2"], count: 1) { leader, store, fake in
            // vm-1 runs on h1. h2 was cordoned, had its idle power measured, and keeps a VM stopped there.
            _ = await CordonTests.command(leader, .cordon(host: "h2", reason: "end of life"))
            try await store.setIdleWatts(["h2": 140, "h1": 150])
            try await store.setHostAssignment("h2", to: "gm-1")
            try await Support.cluster(leader, "old", count: 1, prefix: "old")
            let old = try #require(try await store.vm(named: "old-1"))
            try await store.setVMPlacement(id: old.id, hostID: "h2", state: .stopped)
            _ = try await store.numbers(of: .host, for: ["h2"])
            await fake.disconnect("h2")

            let removed = try #require(await Self.remove(leader, "h2"))
            #expect(removed.code == .ok, "\(removed.message)")
            #expect(
                removed.message
                    == "h2 removed: no longer listed, counted or woken; old-1 (not running) is placed anew when "
                    + "started; if its agent comes back, it joins as a new host"
            )
            #expect(try await store.hosts().map(\.id) == ["h1"])
            #expect(try await store.cordons().isEmpty)
            #expect(try await store.idleWatts() == ["h1": 150])
            #expect(try await store.hostAssignments()["h2"] == nil)
            #expect(try await store.vm(named: "old-1")?.hostID == nil)
            #expect(try await store.vm(named: "old-1")?.state == .stopped)
            #expect(await fake.host("h2") == nil)
            #expect(await leader.cordonReasons().isEmpty)
            #expect(await Self.remove(leader, "h2")?.code == .notFound)
            // The rest of the cluster goes on: the stopped VM starts on the host that is left.
            let started = try await Support.finished(leader, try await Support.submit(leader, .start, "old"))
            #expect(started.state == .succeeded, "\(started.message)")
            #expect(try await store.vm(named: "old-1")?.hostID == "h1")
        }
    }

    @Test func aSleepingHostIsNeverWokenOnceRemoved() async throws {
        var configuration = Support.energyConfiguration()
        configuration.hostWake["h2"] = HostWakeConfiguration(drivers: [Support.noProcessWake])
        try await Migrations.withRunningVMs(hosts: ["h1", "h2"], count: 1, configuration: configuration) {
            leader,
            store,
            fake in
            #expect(
                await Support.eventually {
                    await leader.evaluateEnergy()
                    return await fake.powerCommands.contains { $0.hostID == "h2" }
                }
            )
            await fake.disconnect("h2")
            #expect(await leader.power["h2"]?.state == .sleeping)
            let removed = try #require(await Self.remove(leader, "h2"))
            #expect(removed.code == .ok, "\(removed.message)")
            #expect(removed.message.contains("remove its entry under `hosts:` in manager.yaml too"))
            #expect(await leader.power["h2"] == nil)
            #expect(try await store.hosts().map(\.id) == ["h1"])
            // Nine more cores than h1 has: nothing is woken for them, they stay pending.
            try await Support.cluster(leader, "big", count: 9, prefix: "big")
            let start = try await Support.finished(leader, try await Support.submit(leader, .start, "big"))
            #expect(start.outcomes.contains { $0.state == .unplaced }, "\(start.outcomes)")
            #expect(await leader.power["h2"] == nil)
        }
    }
}
