import Logging
import Testing
import Wire

@testable import Manager

/// An agent's PowerNotice on the manager side: the registry marks the host SLEEPING at once so its silence is not a
/// failure, and the group leader tracks it as asleep since then.
@Suite struct ManagerPowerNoticeTests {
    @Test func aHostGoingDownIsSleepingAndNeverExpiresToFailed() async {
        let registry = HostRegistry(ringCapacity: 4, logger: Logger(label: "test"))
        let start = ContinuousClock.now
        await registry.join(HostRegistryTests.agent("h1"), at: start)
        await registry.goingDown("h1", at: start + .seconds(1))
        #expect(await registry.host("h1")?.state == .sleeping)
        #expect(await registry.host("h1")?.stateSince == start + .seconds(1))
        #expect(await registry.expire(timeout: .seconds(10), at: start + .seconds(60)).isEmpty)
        #expect(await registry.host("h1")?.state == .sleeping)
        // Back after the resume: the rejoin makes it ACTIVE.
        await registry.join(HostRegistryTests.agent("h1"), at: start + .seconds(70))
        #expect(await registry.host("h1")?.state == .active)
    }

    @Test func resumedWakesOnlyASleepingHost() async {
        let registry = HostRegistry(ringCapacity: 4, logger: Logger(label: "test"))
        let start = ContinuousClock.now
        await registry.join(HostRegistryTests.agent("h1"), at: start)
        await registry.join(HostRegistryTests.agent("h2"), at: start)
        // A power action that failed: the host says it is up after all.
        await registry.goingDown("h1", at: start + .seconds(1))
        await registry.resumed("h1", at: start + .seconds(2))
        #expect(await registry.host("h1")?.state == .active)
        #expect(await registry.expire(timeout: .seconds(10), at: start + .seconds(11)).map(\.hostID) == ["h2"])
        // A FAILED or WAKING host stays as it is until its rejoin.
        await registry.resumed("h2", at: start + .seconds(12))
        #expect(await registry.host("h2")?.state == .failed)
        await registry.setState(.waking, of: "h2", at: start + .seconds(13))
        await registry.resumed("h2", at: start + .seconds(14))
        #expect(await registry.host("h2")?.state == .waking)
        // Unknown hosts are ignored.
        await registry.goingDown("nobody", at: start)
        #expect(await registry.host("nobody") == nil)
    }

    @Test func theLeaderTracksAHostThatWentDownOnItsOwnAsAsleep() async throws {
        let database = TemporaryStore()
        defer { database.remove() }
        let leader = try GroupLeader(
            store: try database.open(),
            groupManager: NoHosts(),
            configuration: ManagerConfiguration(),
            logger: Logger(label: "test")
        )
        let before = ContinuousClock.now
        await leader.hostGoingDown("h1", action: .suspendToRam, reason: "agentctl")
        let tracked = try #require(await leader.power["h1"])
        #expect(tracked.state == .sleeping)
        #expect(try #require(tracked.sleptAt) >= before)

        // Its return is recorded as a wake.
        await leader.hostJoined(HostRegistryTests.agent("h1"))
        #expect(await leader.power["h1"]?.state == .active)
        #expect(await leader.power["h1"]?.sleptAt == tracked.sleptAt)
    }

    @Test func aHostWhosePowerActionFailedIsAwakeAgain() async throws {
        let database = TemporaryStore()
        defer { database.remove() }
        let leader = try GroupLeader(
            store: try database.open(),
            groupManager: NoHosts(),
            configuration: ManagerConfiguration(),
            logger: Logger(label: "test")
        )
        await leader.hostGoingDown("h1", action: .suspendToRam, reason: "agentctl")
        #expect(await leader.power["h1"]?.state == .sleeping)
        await leader.hostResumed("h1")
        #expect(await leader.power["h1"]?.state == .active)
        // Resumed for a host never tracked, or being woken, changes nothing.
        await leader.hostResumed("h2")
        #expect(await leader.power["h2"] == nil)
    }

    @Test func theEnergySaversOwnOrderKeepsItsTime() async throws {
        let database = TemporaryStore()
        defer { database.remove() }
        let leader = try GroupLeader(
            store: try database.open(),
            groupManager: NoHosts(),
            configuration: ManagerConfiguration(),
            logger: Logger(label: "test")
        )
        await leader.hostGoingDown("h1", action: .shutdown, reason: "system sleep")
        let first = try #require(await leader.power["h1"]?.sleptAt)
        try await Task.sleep(for: .milliseconds(10))
        await leader.hostGoingDown("h1", action: .suspendToRam, reason: "manager order")
        #expect(await leader.power["h1"]?.sleptAt == first)
    }

    /// A group manager with no hosts: the leader's notice handling needs none.
    struct NoHosts: GroupManagerEndpoint {
        func hosts() async -> [ManagedHost] { [] }
        func inventory(of hostID: String) async -> Inventory? { nil }
        func send(_ command: VMCommand, to hostID: String) async -> CommandResult { .ok() }
        func send(_ command: PowerCommand, to hostID: String) async -> CommandResult { .ok() }
        func send(_ cancel: MigrationCancel, to hostID: String) async -> CommandResult { .ok() }
        func setState(_ state: HostRecord.State, of hostID: String) async {}
        func restoreAsleep(_ description: AgentDescription, since: ContinuousClock.Instant) async -> Bool { false }
        func forget(_ hostID: String) async -> Bool { true }
        func restoreFailed(
            _ description: AgentDescription,
            lastSeen: ContinuousClock.Instant,
            failedSince: ContinuousClock.Instant
        ) async -> Bool { false }
    }
}
