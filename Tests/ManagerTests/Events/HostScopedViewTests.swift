import Foundation
import Testing
import Wire

@testable import Manager

/// LC_JOIN describes the joining host from that host's part of the state (`view(ofHost:)`), not from a view of every
/// host and VM: the description must be the one the full view gives.
@Suite struct HostScopedViewTests {
    @Test func eachHostsDescriptionIsTheOneTheFullViewGives() async throws {
        let fake = FakeGroupManager(hosts: ["h1", "h2", "h3"])
        try await GroupLeaderTests.withLeader(fake) { leader, _ in
            try await GroupLeaderTests.cluster(leader, "q1", count: 5)
            let started = try await GroupLeaderTests.submit(leader, .start, "q1")
            #expect(try await GroupLeaderTests.finished(leader, started).state == .succeeded)

            let describer = await leader.describer
            let base = await leader.eventAddress
            let full = try await leader.view()
            #expect(full.vms.filter { $0.record.hostID != nil }.count == 5)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            for host in full.hosts {
                let scoped = try #require(try await leader.view(ofHost: host.hostID))
                #expect(scoped.hosts.map(\.hostID) == [host.hostID])
                #expect(scoped.vms.allSatisfy { $0.record.hostID == host.hostID })
                let fromScoped = try encoder.encode(describer.localController(scoped.hosts[0], in: scoped, base: base))
                let fromFull = try encoder.encode(describer.localController(host, in: full, base: base))
                #expect(
                    String(decoding: fromScoped, as: UTF8.self) == String(decoding: fromFull, as: UTF8.self),
                    "\(host.hostID)"
                )
            }
            #expect(try await leader.view(ofHost: "h9") == nil)
        }
    }
}
