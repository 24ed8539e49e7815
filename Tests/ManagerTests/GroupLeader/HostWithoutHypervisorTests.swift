import Energy
import Logging
import Placement
import Testing
import Wire

@testable import Manager

/// A host whose agent said its libvirtd does not answer (HypervisorStatus), through `FakeGroupManager`: no start
/// is tried there, no migration goes there, relocation and consolidation see it as unusable, the energy saver
/// neither puts it to sleep nor counts it in the reserve; all of it until the agent says its libvirtd answers.
@Suite struct HostWithoutHypervisorTests {
    typealias Support = GroupLeaderTests
    typealias Migrations = GroupLeaderMigrationTests

    @Test func aHostWithoutHypervisorGetsNoStartAndNoMigrationUntilItAnswers() async throws {
        try await Migrations.withRunningVMs(hosts: ["h1", "h2", "h3"], count: 1, cores: 2) { leader, store, fake in
            // vm-1 on h1.
            await fake.setHypervisorProblem("libvirtd down", of: "h2")

            let before = try await store.tasks().count
            let refused = try #require(await Migrations.refusal(leader, "vm-1", to: "h2"))
            #expect(refused.code == .conflict)
            #expect(
                refused.message
                    == "h2's libvirtd does not answer (libvirtd down): a VM is migrated only to a host whose libvirtd "
                    + "answers"
            )
            #expect(try await store.tasks().count == before)

            // Starts never try it (not even once, as they would before: a start answered hypervisorUnavailable).
            try await Support.cluster(leader, "more", count: 3, prefix: "more")
            let start = try await Support.finished(leader, try await Support.submit(leader, .start, "more"))
            #expect(!start.outcomes.map(\.hostID).contains("h2"), "\(start.outcomes)")
            #expect(start.outcomes.filter { $0.state == .unplaced }.isEmpty, "\(start.outcomes)")
            #expect(await fake.sent.filter { $0.hostID == "h2" }.isEmpty)

            // Relocation and consolidation plan around it.
            let planning = try await leader.planningState()
            #expect(planning.hosts.first { $0.id == "h2" }?.state == .failed)
            #expect(planning.hosts.first { $0.id == "h3" }?.state == .active)

            // Answering again: a migration there is accepted.
            await fake.setHypervisorProblem(nil, of: "h2")
            let accepted = try await Migrations.accepted(leader, "vm-1", to: "h2")
            #expect(accepted.migration?.destinationHostID == "h2")
            #expect(await Support.eventually { await fake.migrating == ["vm-1"] })
            await fake.endMigration("vm-1", .complete)
            #expect(try await Support.finished(leader, accepted.id).state == .succeeded)
        }
    }

    @Test func theEnergySaverNeverPutsAHostWithoutHypervisorToSleep() async throws {
        var configuration = Support.energyConfiguration()
        configuration.hostWake["h2"] = HostWakeConfiguration(drivers: [Support.noProcessWake])
        configuration.hostWake["h3"] = HostWakeConfiguration(drivers: [Support.noProcessWake])
        try await Migrations.withRunningVMs(hosts: ["h1", "h2", "h3"], count: 1, configuration: configuration) {
            leader,
            _,
            fake in
            // h2 and h3 are idle past idle_time; h2's libvirtd does not answer, so its VMs cannot be checked: only
            // h3 goes to sleep.
            await fake.setHypervisorProblem("libvirtd down", of: "h2")
            let orderedDown = try await Support.hostsOrderedDown(leader, fake, waitingFor: "h3")
            #expect(orderedDown == ["h3"])
        }
    }

    @Test func aVMCommandForAHostWithoutHypervisorIsRefusedWithoutSendingIt() async throws {
        try await Migrations.withRunningVMs(hosts: ["h1", "h2"], count: 3, cores: 2) { leader, _, fake in
            // Whichever host runs VMs of "web" loses its libvirtd; the VMs elsewhere are suspended as usual.
            let domains = await fake.domains
            let troubled = try #require(domains.keys.sorted().first { !(domains[$0] ?? [:]).isEmpty })
            await fake.setHypervisorProblem("libvirtd down", of: troubled)
            let sentBefore = await fake.sent.count

            let task = try await Support.finished(leader, try await Support.submit(leader, .suspend, "web"))
            #expect(task.outcomes.count == 3)
            for outcome in task.outcomes where outcome.hostID == troubled {
                #expect(outcome.state == .failed)
                #expect(
                    outcome.message
                        == "\(troubled)'s libvirtd does not answer (libvirtd down): cannot suspend \(outcome.vm) "
                        + "until it does"
                )
            }
            let elsewhere = task.outcomes.filter { $0.hostID != troubled }
            #expect(elsewhere.allSatisfy { $0.state == .done }, "\(elsewhere)")
            let sent = await fake.sent.dropFirst(sentBefore)
            #expect(sent.map(\.vm).sorted() == elsewhere.map(\.vm).sorted(), "\(sent)")
            #expect(!sent.contains { $0.hostID == troubled })
        }
    }
}
