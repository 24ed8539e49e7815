import Testing

@testable import Manager

/// `placement_policy: power-aware` in the leader: each host is priced with its own `hosts.<id>.power` model.
@Suite struct PowerAwarePlacementLeaderTests {
    typealias Migration = GroupLeaderMigrationTests

    /// h1 comes first and would be first fit's choice; its power grows 10 times faster than h2's for the same load.
    @Test func aVMGoesWhereItsPowerGrowsLeast() async throws {
        var configuration = ManagerConfiguration()
        configuration.placementPolicy = .powerAware
        configuration.hostPower = [
            "h1": try .linear(idleWatts: 50, maxWatts: 550),
            "h2": try .linear(idleWatts: 50, maxWatts: 100),
        ]
        try await Migration.withRunningVMs(hosts: ["h1", "h2"], count: 2, configuration: configuration) {
            _, store, _ in
            let hosts = try await store.vms().compactMap(\.hostID)
            #expect(hosts == ["h2", "h2"])
        }
        configuration.hostPower = [
            "h1": try .linear(idleWatts: 50, maxWatts: 100),
            "h2": try .linear(idleWatts: 50, maxWatts: 550),
        ]
        try await Migration.withRunningVMs(hosts: ["h1", "h2"], count: 2, configuration: configuration) {
            _, store, _ in
            let hosts = try await store.vms().compactMap(\.hostID)
            #expect(hosts == ["h1", "h1"])
        }
    }
}
