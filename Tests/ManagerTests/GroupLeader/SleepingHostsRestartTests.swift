import Foundation
import Logging
import Placement
import Synchronization
import Testing
import Wire

@testable import Manager

/// A manager that restarts while hosts sleep: they do not rejoin by themselves, so the store keeps their power
/// state and the next leader knows them asleep again, instead of forgetting them until someone powers them on.
@Suite struct SleepingHostsRestartTests {
    /// A leader over `store` with its own registry, running until `stop()`.
    struct RunningLeader {
        let leader: GroupLeader
        let registry: HostRegistry
        let runner: Task<Void, Never>

        init(store: ManagerStore) throws {
            registry = HostRegistry(ringCapacity: 4, logger: Logger(label: "test"))
            let leader = try SleepingHostsRestartTests.leader(
                over: store,
                registry: registry,
                wakeable: ["h1", "h2", "h3"]
            )
            self.leader = leader
            runner = Task { await leader.run() }
        }

        func stop() async {
            runner.cancel()
            await runner.value
        }

        /// The agent's Hello as the registry and the leader take it.
        func join(_ description: AgentDescription) async {
            await registry.join(description, at: .now)
            await leader.hostJoined(description)
        }
    }

    /// A command wake driver for each of `wakeable`; never run here.
    static func configuration(wakeable: [String]) -> ManagerConfiguration {
        var configuration = ManagerConfiguration()
        for id in wakeable {
            configuration.hostWake[id] = HostWakeConfiguration(drivers: [.command(["/bin/false", id])])
        }
        return configuration
    }

    /// A leader over `store` and `registry`, not running.
    static func leader(over store: ManagerStore, registry: HostRegistry, wakeable: [String]) throws -> GroupLeader {
        try GroupLeader(
            store: store,
            groupManager: GroupManager(registry: registry, logger: Logger(label: "test")),
            configuration: configuration(wakeable: wakeable),
            logger: Logger(label: "test")
        )
    }

    static func agent(_ id: String) -> AgentDescription {
        AgentDescription(
            hostID: id,
            hostname: "\(id).lab",
            capabilities: [.vmLifecycle, .suspendToRam, .liveMigration],
            capacity: HostCapacity(
                cores: 12,
                memoryBytes: 48 << 30,
                nicRxBytesPerSecond: 125_000_000,
                nicTxBytesPerSecond: 62_500_000
            ),
            wake: WakeSettings(),
            listenAddress: "127.0.0.1:7701"
        )
    }

    static func storedState(_ store: ManagerStore, _ id: String) async throws -> HostRecord.State? {
        try await store.hosts().first { $0.id == id }?.state
    }

    @Test func aHostAsleepWhenTheManagerStopsIsKnownAsleepByTheNextOne() async throws {
        let database = TemporaryStore()
        defer { database.remove() }
        let store = try database.open()
        let first = try RunningLeader(store: store)
        await first.join(Self.agent("h1"))
        await first.join(Self.agent("h2"))
        await first.join(Self.agent("h3"))
        // h1 goes down (its agent's PowerNotice), h2 too and comes back, h3 stays up.
        for id in ["h1", "h2"] {
            await first.registry.goingDown(id, at: .now)
            await first.leader.hostGoingDown(id, action: .suspendToRam, reason: "manager order")
        }
        await first.join(Self.agent("h2"))
        let recorded = try await GroupLeaderTests.eventually {
            let h1 = try await Self.storedState(store, "h1")
            let h2 = try await Self.storedState(store, "h2")
            return h1 == .sleeping && h2 == .active
        }
        let stored = try await store.hosts().map { "\($0.id) \($0.state)" }
        #expect(recorded, "stored: \(stored)")
        #expect(try await Self.storedState(store, "h3") == .active)
        await first.stop()

        // The next manager: h1 is listed asleep as its agent described it, and tracked asleep; the others are
        // not known until they rejoin.
        let second = try RunningLeader(store: store)
        defer { second.runner.cancel() }
        let restored = await GroupLeaderTests.eventually { await second.registry.host("h1") != nil }
        #expect(restored)
        let host = try #require(await second.registry.host("h1"))
        #expect(host.state == .sleeping)
        #expect(!host.connected)
        #expect(host.description.hostname == "h1.lab")
        #expect(host.description.capacity == Self.agent("h1").capacity)
        #expect(host.description.capabilities == Self.agent("h1").capabilities)
        #expect(await second.leader.power["h1"]?.state == .sleeping)
        #expect(await second.registry.host("h2") == nil)
        #expect(await second.registry.host("h3") == nil)
        // Asleep is not failed: the heartbeat timeout leaves it alone.
        #expect(await second.registry.expire(timeout: .seconds(1), at: .now + .seconds(60)).isEmpty)

        // Woken (by anyone), its agent rejoins: awake again, in the store too.
        await second.join(Self.agent("h1"))
        #expect(await second.leader.power["h1"]?.state == .active)
        let awake = try await GroupLeaderTests.eventually { try await Self.storedState(store, "h1") == .active }
        #expect(awake)
        await second.stop()
    }

    @Test func aHostThatRejoinedBeforeTheLeaderRanIsLeftAwake() async throws {
        let database = TemporaryStore()
        defer { database.remove() }
        let store = try database.open()
        try await store.upsertHost(
            StoredHost(id: "h1", hostname: "h1.lab", state: .sleeping, cores: 4, memoryBytes: 8 << 30, lastSeen: .now)
        )
        let registry = HostRegistry(ringCapacity: 4, logger: Logger(label: "test"))
        await registry.join(Self.agent("h1"), at: .now)
        let leader = try Self.leader(over: store, registry: registry, wakeable: ["h1"])
        await leader.restoreSleepingHosts()
        #expect(await registry.host("h1")?.state == .active)
        #expect(await registry.host("h1")?.connected == true)
        #expect(await leader.power["h1"] == nil)
    }

    @Test func aRestoredHostIsAsleepSinceItWasLastSeen() async throws {
        let database = TemporaryStore()
        defer { database.remove() }
        let store = try database.open()
        try await store.upsertHost(
            StoredHost(id: "h1", hostname: "h1", state: .active, cores: 4, memoryBytes: 8 << 30, lastSeen: .now)
        )
        // Gone down an hour ago: the power state's write makes that its last seen.
        try await store.setHostState(.sleeping, ofHost: "h1", at: Date(timeIntervalSinceNow: -3600))
        let registry = HostRegistry(ringCapacity: 4, logger: Logger(label: "test"))
        let leader = try Self.leader(over: store, registry: registry, wakeable: ["h1"])
        await leader.restoreSleepingHosts()
        let restoredAt = ContinuousClock.now
        let host = try #require(await registry.host("h1"))
        let since = try #require(host.stateSince)
        #expect(restoredAt - since > .seconds(3590) && restoredAt - since < .seconds(3700))
        #expect(host.lastHeartbeat == since)
        #expect(await leader.power["h1"]?.sleptAt == since)
        #expect(await leader.power["h1"]?.since == since)
        // A later awake state leaves the last seen alone.
        try await store.setHostState(.failed, ofHost: "h1", at: Date())
        let row = try #require(try await store.hosts().first)
        #expect(Date().timeIntervalSince(row.lastSeen) > 3590)
    }

    @Test func aHostRestoredAsleepBehindGroupManagerProcessesWasLastHeardOfWhenItWentDown() async throws {
        let groupManagers = RemoteGroupManagers(
            policy: .roundRobin,
            estimator: Estimator(window: 5),
            logger: Logger(label: "test")
        )
        let now = ContinuousClock.now
        #expect(await groupManagers.restoreAsleep(Self.agent("h1"), since: now - .seconds(3600)))
        let row = try #require(await groupManagers.statusHosts(at: now).first)
        #expect(row.state == .sleeping)
        #expect(row.connected == false)
        #expect(row.millisecondsInState == 3_600_000)
        // Not "0.0 s ago": no group manager has reported the host since the restart.
        #expect(row.millisecondsSinceHeartbeat == 3_600_000)
        #expect(row.millisecondsSinceReport == nil)
        // Restored only once: a host the leader knows is left as it is.
        #expect(await groupManagers.restoreAsleep(Self.agent("h1"), since: now) == false)
    }

    /// After a start: a host stored ACTIVE that has not come back is asleep if its BMC says power off, and FAILED
    /// (its VMs unreachable) once agents have had time to come back; one stored FAILED is listed FAILED again.
    @Test func hostsStoredActiveThatAreNotBackAreAsleepIfTheirBMCSaysOffElseFailed() async throws {
        let database = TemporaryStore()
        defer { database.remove() }
        let store = try database.open()
        let wentDown = Date(timeIntervalSinceNow: -600)
        for id in ["off", "on", "silent", "no-bmc", "back", "gone"] {
            try await store.upsertHost(
                StoredHost(
                    id: id,
                    hostname: id,
                    state: id == "gone" ? .failed : .active,
                    cores: 4,
                    memoryBytes: 8 << 30,
                    lastSeen: wentDown
                )
            )
        }
        // A VM the store has running on "no-bmc", which never comes back.
        try await store.defineVirtualCluster("web")
        try await store.addVM(
            StoredVM(
                id: "0b8e3c52-3b54-4b67-9f9a-6a1b3c1d2e01",
                name: "web-1",
                vcName: "web",
                templateXML: "<domain/>",
                hostID: "no-bmc",
                state: .running
            )
        )
        var configuration = ManagerConfiguration()
        configuration.heartbeatTimeout = .milliseconds(100)
        configuration.agentRetryMaximum = .milliseconds(500)
        for id in ["off", "on", "silent", "back"] {
            configuration.hostWake[id] = HostWakeConfiguration(
                drivers: [.command(["/bin/false", id])],
                bmc: .init(address: "bmc-\(id):623", user: "admin", passwordFile: "/dev/null")
            )
        }
        configuration.hostWake["no-bmc"] = HostWakeConfiguration(drivers: [.command(["/bin/false"])])
        let asked = Mutex<[String]>([])
        let registry = HostRegistry(ringCapacity: 4, logger: Logger(label: "test"))
        let leader = try GroupLeader(
            store: store,
            groupManager: GroupManager(registry: registry, logger: Logger(label: "test")),
            configuration: configuration,
            logger: Logger(label: "test"),
            chassisPower: { bmc in
                asked.withLock { $0.append(bmc.address) }
                switch bmc.address {
                case "bmc-off:623", "bmc-back:623": return false
                case "bmc-on:623": return true
                default: return nil
                }
            }
        )
        // "back" rejoins before the window closes: its agent answers, whatever its BMC would say.
        await registry.join(Self.agent("back"), at: .now)
        await leader.hostJoined(Self.agent("back"))
        let runner = Task { await leader.run() }
        defer { runner.cancel() }
        #expect(await GroupLeaderTests.eventually { await registry.host("off")?.state == .sleeping })
        let host = try #require(await registry.host("off"))
        #expect(host.connected == false)
        #expect(await leader.power["off"]?.state == .sleeping)
        // Asleep since it was last seen, and recorded so for the next start.
        let since = try #require(host.stateSince)
        #expect(ContinuousClock.now - since > .seconds(590))
        #expect(try await Self.storedState(store, "off") == .sleeping)
        let lastSeen = try #require(try await store.hosts().first { $0.id == "off" }?.lastSeen)
        #expect(abs(lastSeen.timeIntervalSince(wentDown)) < 0.001)
        // Only the BMCs of missing hosts asked.
        #expect(await registry.host("back")?.state == .active)
        #expect(asked.withLock { $0.sorted() } == ["bmc-off:623", "bmc-on:623", "bmc-silent:623"])
        // Powered on, not answering, or without a BMC: once agents have had time to come back (`timeToComeBack`),
        // lost: FAILED, listed, last heard of when the store last saw them; their VMs unreachable.
        let lostIDs = ["on", "silent", "no-bmc", "gone"]
        #expect(
            try await GroupLeaderTests.eventually {
                for id in lostIDs where await registry.host(id)?.state != .failed { return false }
                return try await store.vm(named: "web-1")?.state == .unreachable
            }
        )
        for id in lostIDs {
            let lost = try #require(await registry.host(id), "\(id)")
            #expect(lost.state == .failed && !lost.connected, "\(id)")
            #expect(ContinuousClock.now - lost.lastHeartbeat > .seconds(590), "\(id)")
            #expect(try await Self.storedState(store, id) == .failed, "\(id)")
            let stored = try #require(try await store.hosts().first { $0.id == id })
            #expect(abs(stored.lastSeen.timeIntervalSince(wentDown)) < 0.001, "\(id)")
        }
        let web = try #require(try await store.vm(named: "web-1"))
        #expect(web.state == .unreachable && web.hostID == "no-bmc")
        #expect(web.reason == "no-bmc FAILED: not back since the manager started")
        #expect(await registry.host("off")?.state == .sleeping)
        #expect(await registry.host("back")?.state == .active)

        // The agent of a lost host comes back: ACTIVE again.
        await registry.join(Self.agent("on"), at: .now)
        await leader.hostJoined(Self.agent("on"))
        #expect(await registry.host("on")?.state == .active)
        #expect(try await Self.storedState(store, "on") == .active)
    }

    /// A host not back is declared FAILED no sooner than an agent retrying its manager could be back.
    @Test func hostsHaveTimeToComeBackBeforeTheyAreDeclaredFailed() {
        var configuration = ManagerConfiguration()
        let window = { (timeout: Duration) in
            RejoinWindow(opened: .now, quiet: timeout * 2, maximum: timeout * 6)
        }
        // Defaults: 10 s heartbeat timeout, agents retry at most every 30 s: max(60 s, 30 s + 20 s).
        #expect(GroupLeader.timeToComeBack(configuration, window: window(.seconds(10))) == .seconds(60))
        // The lab's 5 s: max(30 s, 30 s + 10 s).
        configuration.heartbeatTimeout = .seconds(5)
        #expect(GroupLeader.timeToComeBack(configuration, window: window(.seconds(5))) == .seconds(40))
        configuration.heartbeatTimeout = .seconds(30)
        #expect(GroupLeader.timeToComeBack(configuration, window: window(.seconds(30))) == .seconds(180))
    }

    /// A host whose wake driver was taken out of manager.yaml while it slept: listed SLEEPING so the operator sees
    /// it, but no plan, reserve or operator's wake tries it (that would only mark it FAILED).
    @Test func aHostNothingCanWakeIsListedAsleepAndNeverWoken() async throws {
        let database = TemporaryStore()
        defer { database.remove() }
        let store = try database.open()
        for id in ["h1", "h2"] {
            try await store.upsertHost(
                StoredHost(id: id, hostname: id, state: .sleeping, cores: 4, memoryBytes: 8 << 30, lastSeen: .now)
            )
        }
        let registry = HostRegistry(ringCapacity: 4, logger: Logger(label: "test"))
        let leader = try Self.leader(over: store, registry: registry, wakeable: ["h2"])
        await leader.restoreSleepingHosts()
        #expect(await registry.host("h1")?.state == .sleeping)
        #expect(await leader.power["h1"]?.state == .sleeping)
        #expect(await registry.host("h2")?.state == .sleeping)
        #expect(await leader.power["h2"]?.state == .sleeping)

        let hosts = await leader.groupManager.hosts()
        #expect(await leader.placementTiers(hosts).map(\.0.hostID) == ["h2"])
        let energyHosts = try await leader.energyHosts(hosts, at: .now).sorted { $0.id < $1.id }
        #expect(energyHosts.map(\.id) == ["h1", "h2"])
        #expect(energyHosts.map(\.canWake) == [false, true])

        let wake = await leader.handle(HostPowerRequest(operation: .wake, hostID: "h1"))
        #expect(wake.code == .conflict)
        #expect(wake.message.contains("h1 has no wake driver configured"))
        #expect(wake.message.contains("torpor host remove h1"))
        #expect(await leader.power["h1"]?.state == .sleeping)
        #expect(try await Self.storedState(store, "h1") == .sleeping)
    }

    @Test func theStoreKeepsEachHostsIdlePower() async throws {
        let database = TemporaryStore()
        defer { database.remove() }
        let store = try database.open()
        #expect(try await store.idleWatts().isEmpty)
        try await store.setIdleWatts(["h1": 120.5, "h2": 98])
        try await store.setIdleWatts(["h1": 131])
        try await store.setIdleWatts([:])
        #expect(try await store.idleWatts() == ["h1": 131, "h2": 98])
        // Another run over the same file reads them back.
        #expect(try await database.open().idleWatts() == ["h1": 131, "h2": 98])
    }

    @Test func theStoreKeepsWhatAHostsAgentSaid() async throws {
        let database = TemporaryStore()
        defer { database.remove() }
        let store = try database.open()
        let leader = try GroupLeader(
            store: store,
            groupManager: GroupManager(
                registry: HostRegistry(ringCapacity: 4, logger: Logger(label: "test")),
                logger: Logger(label: "test")
            ),
            configuration: ManagerConfiguration(),
            logger: Logger(label: "test")
        )
        await leader.hostJoined(Self.agent("h1"))
        let stored = try #require(try await store.hosts().first)
        #expect(stored.nicRxBytesPerSecond == 125_000_000)
        #expect(stored.nicTxBytesPerSecond == 62_500_000)
        #expect(AgentCapabilities(rawValue: UInt32(stored.capabilities)) == Self.agent("h1").capabilities)
        #expect(stored.state == .active)
        // A power state written alone leaves the rest of the row.
        try await store.setHostState(.sleeping, ofHost: "h1")
        let asleep = try #require(try await store.hosts().first)
        #expect(asleep.state == .sleeping)
        #expect(asleep.cores == 12 && asleep.nicRxBytesPerSecond == 125_000_000)
    }
}
