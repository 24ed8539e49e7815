import Energy
import Foundation
import Logging
import Rings
import Testing
import Wire

@testable import Manager

/// The group leader's actor driven through `FakeGroupManager`: its decisions on the store and the commands it sends,
/// without processes. Each test names the bug it guards against (issue 11).
@Suite struct GroupLeaderTests {
    static let template = "<domain type='kvm'><name>t</name><memory unit='MiB'>256</memory><vcpu>1</vcpu></domain>"

    /// A leader on a fresh store and `fake`, running its background work until `body` returns.
    static func withLeader(
        _ fake: FakeGroupManager,
        configuration: ManagerConfiguration = ManagerConfiguration(),
        fencing: (any HostFencing)? = nil,
        _ body: (GroupLeader, ManagerStore) async throws -> Void
    ) async throws {
        let database = TemporaryStore()
        defer { database.remove() }
        let store = try database.open()
        var configuration = configuration
        configuration.checkTemplateDisks = false
        let leader = try GroupLeader(
            store: store,
            groupManager: fake,
            configuration: configuration,
            logger: Logger(label: "test"),
            fencing: fencing
        )
        let runner = Task { await leader.run() }
        defer { runner.cancel() }
        try await body(leader, store)
    }

    /// Defines `cluster` with `count` VMs named `prefix-1`….
    static func cluster(
        _ leader: GroupLeader,
        _ cluster: String,
        count: Int,
        prefix: String = "vm",
        highlyAvailable: Set<Int> = []
    ) async throws {
        guard case .taskStatus = await leader.handle(.define(cluster: cluster)) else {
            Issue.record("define failed")
            return
        }
        let submissions = (1...count).map {
            ClusterRequest.VMSubmission(
                templateXML: template,
                nameOverride: "\(prefix)-\($0)",
                highlyAvailable: highlyAvailable.contains($0)
            )
        }
        let added = await leader.handle(.add(cluster: cluster, vms: submissions))
        guard case .taskStatus(let status) = added, status.state == .succeeded else {
            Issue.record("add failed: \(added)")
            return
        }
    }

    static func submit(
        _ leader: GroupLeader,
        _ action: ClusterRequest.VMAction,
        _ cluster: String,
        vm: String = ""
    )
        async throws -> String
    {
        let reply = await leader.handle(.act(action, cluster: cluster, vm: vm))
        guard case .taskStatus(let status) = reply else { throw Refused(reply: "\(reply)") }
        return status.id
    }

    /// The task once it has ended (within a generous minute).
    static func finished(_ leader: GroupLeader, _ id: String) async throws -> TaskStatus {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let reply = await leader.handle(.task(id: id, waitMilliseconds: 10_000))
            guard case .taskStatus(let status) = reply else { throw Refused(reply: "\(reply)") }
            if status.state.isFinished { return status }
        }
        throw Refused(reply: "task \(id) did not end")
    }

    struct Refused: Error { var reply: String }

    static func eventually(_ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }

    /// Runs the energy saver until it orders `host` down, then three rounds more; every host a power command went to.
    static func hostsOrderedDown(
        _ leader: GroupLeader,
        _ fake: FakeGroupManager,
        waitingFor host: String
    ) async throws -> [String] {
        #expect(
            await eventually {
                await leader.evaluateEnergy()
                return await fake.powerCommands.contains { $0.hostID == host }
            }
        )
        for _ in 0..<3 {
            await leader.evaluateEnergy()
            try await Task.sleep(for: .milliseconds(100))
        }
        return await fake.powerCommands.map(\.hostID)
    }

    static func failedRecord(_ hostID: String) -> HostRecord {
        HostRecord(
            description: HostRegistryTests.agent(hostID),
            state: .failed,
            joinedAt: .now,
            lastHeartbeat: .now,
            lastReport: nil,
            inventory: nil,
            reports: RingBuffer(capacity: 1)
        )
    }

    // MARK: Two starts at once

    @Test func twoStartsOfOneClusterAtOnceStartEachVMOnce() async throws {
        let fake = FakeGroupManager(hosts: ["h1", "h2", "h3", "h4"])
        try await Self.withLeader(fake) { leader, store in
            try await Self.cluster(leader, "q1", count: 20)
            await fake.holdStarts()
            let first = try await Self.submit(leader, .start, "q1")
            #expect(await Self.eventually { await fake.heldStarts == 20 })
            // The second start finds every VM `starting` under the first, live task.
            let second = try await Self.submit(leader, .start, "q1")
            // Released only once the second task has found every VM under the first (a fixed pause was too short
            // on loaded cores: the second then ran after the first had ended).
            #expect(
                await Self.eventually {
                    let reply = await leader.handle(.task(id: second, waitMilliseconds: 0))
                    guard case .taskStatus(let status) = reply else { return false }
                    return status.outcomes.count == 20
                        && status.outcomes.allSatisfy { $0.message.contains("started by task \(first)") }
                }
            )
            await fake.releaseStarts()
            let firstStatus = try await Self.finished(leader, first)
            let secondStatus = try await Self.finished(leader, second)
            #expect(firstStatus.state == .succeeded, "\(firstStatus.message)")
            #expect(secondStatus.state == .succeeded, "\(secondStatus.message)")
            for index in 1...20 {
                let name = "vm-\(index)"
                let starts = await fake.starts(of: name)
                #expect(starts.count == 1, "\(name) started on \(starts)")
                #expect(await fake.running(name).count == 1)
                let stored = try #require(try await store.vm(named: name))
                #expect(stored.state == .running)
                #expect(stored.hostID == (await fake.running(name)).first)
            }
            #expect(secondStatus.outcomes.allSatisfy { $0.message.contains("started by task \(first)") })
        }
    }

    /// A manager killed after an agent started a VM but before it recorded the result: the task resumed after the
    /// restart asks the same host again, which answers that the domain already runs. The VM is running there, not
    /// `failed` with no host.
    @Test func aResumedStartOfADomainAlreadyRunningRecordsItRunning() async throws {
        let fake = FakeGroupManager(hosts: ["h1", "h2"])
        try await Self.withLeader(fake) { leader, store in
            try await Self.cluster(leader, "web", count: 1, prefix: "web")
            let vm = try #require(try await store.vm(named: "web-1"))
            // What the killed manager left: claimed on h1, and the domain running there.
            #expect(try await store.claimStart(vmID: vm.id, hostID: "h1", from: [.pending]))
            await fake.run("web-1", uuid: vm.id, on: "h1")
            _ = await fake.snapshot("h1")
            let status = try await Self.finished(leader, try await Self.submit(leader, .start, "web"))
            #expect(status.state == .succeeded, "\(status.message)")
            #expect(status.outcomes.first?.message == "already running on h1")
            #expect(await fake.starts(of: "web-1") == ["h1"])
            let stored = try #require(try await store.vm(named: "web-1"))
            #expect(stored.state == .running)
            #expect(stored.hostID == "h1")
        }
    }

    /// A start submitted right after a manager took over, while its agents are still rejoining one by one and the
    /// last of them later than one quiet period (twice the heartbeat timeout) after the start: it waits for them
    /// and starts every VM, rather than leaving them unplaced for want of hosts that were only reconnecting (seen
    /// in CI as a VM left `pending` after a failover).
    @Test func aStartAfterATakeoverWaitsForHostsThatKeepRejoining() async throws {
        let hosts = ["h1", "h2", "h3", "h4"]
        let fake = FakeGroupManager(hosts: hosts, cores: 1)
        for host in hosts { await fake.disconnect(host) }
        var configuration = ManagerConfiguration()
        configuration.heartbeatTimeout = .seconds(6)
        try await Self.withLeader(fake, configuration: configuration) { leader, store in
            for host in hosts {
                try await store.upsertHost(
                    StoredHost(
                        id: host,
                        hostname: host,
                        state: .active,
                        cores: 1,
                        memoryBytes: 64 << 30,
                        lastSeen: Date()
                    )
                )
            }
            // Four one-core VMs: each needs a host of its own.
            try await Self.cluster(leader, "web", count: 4, prefix: "web")
            let task = try await Self.submit(leader, .start, "web")
            // Quiet period 12 s from the leader's start, at most 36 s. Timed from when the task is seen waiting
            // (setting up took seconds on a loaded CI machine): h1 back then, each other host 5 s after the one
            // before, the last 15 s or more after the start, past the first quiet period. Each gap leaves 7 s of
            // the quiet period for a sleep that overruns on a loaded machine (a 4 s margin once did not suffice).
            #expect(
                await Self.eventually {
                    let reply = await leader.handle(.task(id: task, waitMilliseconds: 0))
                    guard case .taskStatus(let status) = reply else { return false }
                    return status.message.contains("waiting for hosts to rejoin")
                }
            )
            for (index, host) in hosts.enumerated() {
                if index > 0 { try await Task.sleep(for: .seconds(5)) }
                await fake.reconnect(host)
            }
            let status = try await Self.finished(leader, task)
            #expect(status.state == .succeeded, "\(status.message) \(status.outcomes)")
            for index in 1...4 {
                let stored = try #require(try await store.vm(named: "web-\(index)"))
                #expect(stored.state == .running, "web-\(index): \(stored.state) \(stored.reason ?? "")")
            }
            #expect(Set(await fake.sent.map(\.hostID)) == Set(hosts))
        }
    }

    /// A status request waiting for a task is answered when the task ends, not when its wait runs out.
    @Test func aTaskWaitIsAnsweredWhenTheTaskEnds() async throws {
        let fake = FakeGroupManager(hosts: ["h1"])
        try await Self.withLeader(fake) { leader, _ in
            try await Self.cluster(leader, "web", count: 1, prefix: "web")
            await fake.holdStarts()
            let id = try await Self.submit(leader, .start, "web")
            #expect(await Self.eventually { await fake.heldStarts == 1 })
            async let answer = leader.handle(.task(id: id, waitMilliseconds: 120_000))
            try await Task.sleep(for: .milliseconds(200))
            let released = ContinuousClock.now
            await fake.releaseStarts()
            guard case .taskStatus(let status) = await answer else {
                Issue.record("no task status")
                return
            }
            #expect(status.state == .succeeded)
            #expect(ContinuousClock.now - released < .seconds(60), "answered only when the wait ran out")
        }
    }

    // MARK: A start that never reached its host

    /// Starts web-1 on a leader whose first choice, h1, loses its agent between the plan and the start.
    static func startWithH1GoneAfterThePlan(
        hosts: [String],
        _ body: (TaskStatus, ManagerStore, FakeGroupManager) async throws -> Void
    ) async throws {
        let fake = FakeGroupManager(hosts: hosts)
        var configuration = ManagerConfiguration()
        configuration.heartbeatTimeout = .milliseconds(300)
        try await Self.withLeader(fake, configuration: configuration) { leader, store in
            // A first start closes the rejoin window, so the next listing is the start's plan.
            try await Self.cluster(leader, "first", count: 1, prefix: "first")
            _ = try await Self.finished(leader, try await Self.submit(leader, .start, "first"))
            try await Self.cluster(leader, "web", count: 1, prefix: "web")
            await fake.disconnectAfterNextListing("h1")
            let status = try await Self.finished(leader, try await Self.submit(leader, .start, "web"))
            try await body(status, store, fake)
        }
    }

    @Test func aStartThatNeverReachedItsHostIsPlacedAgain() async throws {
        try await Self.startWithH1GoneAfterThePlan(hosts: ["h1", "h2"]) { status, store, fake in
            #expect(status.state == .succeeded, "\(status.message)")
            let outcome = try #require(status.outcomes.first)
            #expect(outcome.message == "running on h2 (placed again: h1 is not connected)")
            #expect(await fake.starts(of: "web-1") == ["h2"])
            let vm = try #require(try await store.vm(named: "web-1"))
            #expect(vm.state == .running && vm.hostID == "h2")
        }
    }

    @Test func aStartThatNeverReachedItsOnlyHostIsLeftUnplaced() async throws {
        try await Self.startWithH1GoneAfterThePlan(hosts: ["h1"]) { status, store, fake in
            // Placed again on nothing usable: left pending, unplaced, never started twice.
            #expect(status.state == .failed, "\(status.message)")
            #expect(await fake.starts(of: "web-1").isEmpty)
            let outcome = try #require(status.outcomes.first { $0.vm == "web-1" })
            #expect(outcome.state == .unplaced, "\(outcome.state): \(outcome.message)")
            #expect(outcome.message.hasSuffix("(placed again: h1 is not connected)"), "\(outcome.message)")
            let vm = try #require(try await store.vm(named: "web-1"))
            #expect(vm.state == .pending && vm.hostID == nil, "\(vm.state) on \(vm.hostID ?? "-")")
        }
    }

    /// A host whose libvirtd is down: its agent is connected but answers that it cannot reach it, so nothing ran
    /// there and the VM goes to another host; that host is not tried again by the task.
    @Test func aStartOnAHostWhoseLibvirtdIsDownIsPlacedElsewhere() async throws {
        let fake = FakeGroupManager(hosts: ["h1", "h2"], cores: 2)
        await fake.loseHypervisor("h1")
        try await Self.withLeader(fake) { leader, store in
            try await Self.cluster(leader, "web", count: 2, prefix: "web")
            let status = try await Self.finished(leader, try await Self.submit(leader, .start, "web"))
            // Both 1-core VMs fit the 2 cores of either host; whichever went to h1 first is placed again on h2.
            for name in ["web-1", "web-2"] {
                let vm = try #require(try await store.vm(named: name))
                #expect(vm.hostID == "h2" && vm.state == .running, "\(name): \(vm.state) on \(vm.hostID ?? "-")")
            }
            #expect(status.state == .succeeded, "\(status.message)")
            #expect(await fake.sent.filter { $0.hostID == "h1" }.map(\.command).allSatisfy { $0 == "unavailable" })
            #expect(await fake.sent.contains { $0.hostID == "h1" }, "the plan chose h1 first (first fit)")
            let messages = status.outcomes.map(\.message)
            #expect(
                messages.contains { $0.hasPrefix("running on h2 (placed again:") && $0.contains("libvirt") },
                "\(messages)"
            )
        }
    }

    // MARK: A host whose fate is unknown

    @Test func aVMOnAFailedHostIsNeverStartedElsewhereWithoutAFence() async throws {
        let fake = FakeGroupManager(hosts: ["h1", "h2"])
        try await Self.withLeader(fake) { leader, store in
            try await Self.cluster(leader, "db", count: 1, prefix: "db")
            _ = try await Self.finished(leader, try await Self.submit(leader, .start, "db"))
            let host = try #require(try await store.vm(named: "db-1")?.hostID)
            await fake.fail(host)
            await leader.hostsFailed([Self.failedRecord(host)])
            #expect(try await store.vm(named: "db-1")?.state == .unreachable)

            let status = try await Self.finished(leader, try await Self.submit(leader, .start, "db"))
            #expect(status.state == .failed)
            let outcome = try #require(status.outcomes.first)
            #expect(outcome.message.contains("not fenced") && outcome.message.contains("no fencing driver"))
            #expect(await fake.starts(of: "db-1") == [host])
            #expect(try await store.vm(named: "db-1")?.state == .unreachable)
        }
    }

    @Test func aFencedHostsVMIsStartedElsewhere() async throws {
        let fake = FakeGroupManager(hosts: ["h1", "h2"])
        let fencer = RecordingFencer(outcome: .fenced)
        try await Self.withLeader(fake, fencing: fencer) { leader, store in
            try await Self.cluster(leader, "db", count: 1, prefix: "db")
            _ = try await Self.finished(leader, try await Self.submit(leader, .start, "db"))
            let host = try #require(try await store.vm(named: "db-1")?.hostID)
            await fake.fail(host)
            await leader.hostsFailed([Self.failedRecord(host)])

            let status = try await Self.finished(leader, try await Self.submit(leader, .start, "db"))
            #expect(status.state == .succeeded, "\(status.message)")
            #expect(await fencer.fenced == [host])
            let other = host == "h1" ? "h2" : "h1"
            #expect(await fake.starts(of: "db-1") == [host, other])
            #expect(try await store.vm(named: "db-1")?.hostID == other)
        }
    }

    @Test func aHighlyAvailableVMIsRestartedOnceItsHostIsFenced() async throws {
        let fake = FakeGroupManager(hosts: ["h1", "h2"])
        let fencer = RecordingFencer(outcome: .fenced)
        try await Self.withLeader(fake, fencing: fencer) { leader, store in
            // db-1 is highly available, db-2 is not.
            try await Self.cluster(leader, "db", count: 2, prefix: "db", highlyAvailable: [1])
            #expect(try await store.vm(named: "db-1")?.highlyAvailable == true)
            #expect(try await store.vm(named: "db-2")?.highlyAvailable == false)
            _ = try await Self.finished(leader, try await Self.submit(leader, .start, "db"))
            #expect(try await store.vm(named: "db-1")?.hostID == "h1")
            await fake.fail("h1")
            await leader.hostsFailed([Self.failedRecord("h1")])
            // Claimed for h2 (starting), then running there once the start's result is in.
            #expect(
                await Self.eventually {
                    let vm = try? await store.vm(named: "db-1")
                    return vm?.hostID == "h2" && vm?.state == .running
                }
            )
            #expect(await fencer.fenced == ["h1"])
            // Not highly available: fenced, so free to start, but not restarted without a request.
            #expect(try await store.vm(named: "db-2")?.state == .stopped)
        }
    }

    /// How the host of a VM `hostsFailed` made unreachable stands when a recheck queued earlier (an inventory had
    /// contradicted the VM's start) looks at the host's latest inventory, and what the VM then reads.
    enum HostAtRecheck: String, CaseIterable, Sendable {
        /// The agent died: the group manager keeps the inventory it sent before.
        case failedAndGone
        /// Silent past the timeout on a connection still open (half-dead).
        case failedButConnected
        /// The agent came back: its host is heard from again.
        case back

        var vmState: StoredVM.State {
            switch self {
            case .failedAndGone, .failedButConnected: .unreachable
            case .back: .running
            }
        }
    }

    /// A killed agent's host was marked FAILED and its VM unreachable, then the recheck a start had queued
    /// reconciled the dead host's last inventory and recorded the VM running there again, for good (a loaded CI
    /// run's lab saw db-1 `running` with no reason 120 s after host-1 FAILED).
    @Test(arguments: HostAtRecheck.allCases)
    func aRecheckAfterItsHostFailedLeavesItsVMsUnreachable(_ host: HostAtRecheck) async throws {
        let fake = FakeGroupManager(hosts: ["h1"])
        try await Self.withLeader(fake) { leader, store in
            try await Self.cluster(leader, "db", count: 1, prefix: "db")
            _ = try await Self.finished(leader, try await Self.submit(leader, .start, "db"))
            #expect(try await store.vm(named: "db-1")?.hostID == "h1")
            // The agent's last inventory lists db-1 running; the group manager keeps it once the agent is gone.
            _ = await fake.snapshot("h1")
            await fake.fail("h1")
            await leader.hostsFailed([Self.failedRecord("h1")])
            #expect(try await store.vm(named: "db-1")?.state == .unreachable)
            switch host {
            case .failedAndGone:
                break
            case .failedButConnected:
                await fake.reconnect("h1")
                await fake.setState(.failed, of: "h1")
            case .back:
                await fake.reconnect("h1")
            }

            await leader.recheck("h1")

            let vm = try #require(try await store.vm(named: "db-1"))
            #expect(vm.state == host.vmState, "\(vm.state): \(vm.reason ?? "")")
            #expect(vm.hostID == "h1")
            if host.vmState == .unreachable { #expect(vm.reason?.contains("h1 FAILED") == true, "\(vm.reason ?? "")") }
        }
    }

    // MARK: Inventories during a start

    @Test func anInventorySampledBeforeAStartDoesNotMarkTheVMMissing() async throws {
        let fake = FakeGroupManager(hosts: ["h1"])
        var configuration = ManagerConfiguration()
        configuration.heartbeatTimeout = .seconds(5)
        try await Self.withLeader(fake, configuration: configuration) { leader, store in
            try await Self.cluster(leader, "web", count: 1, prefix: "web")
            // Sampled before the domain existed, delivered after the start's result.
            let stale = await fake.snapshot("h1")
            _ = try await Self.finished(leader, try await Self.submit(leader, .start, "web"))
            // The result came before the task finished, so its settling time is over by then.
            let settled = ContinuousClock.now + configuration.heartbeatTimeout
            await leader.inventoryReceived(stale, from: "h1")
            #expect(try await store.vm(named: "web-1")?.state == .running)
            // The agent's next round shows it; the leader's look after the settling time keeps it running.
            _ = await fake.snapshot("h1")
            try await Task.sleep(until: settled + .milliseconds(500))
            #expect(try await store.vm(named: "web-1")?.state == .running)
            // Once the result has settled, an inventory without the VM is the truth again.
            await leader.inventoryReceived(stale, from: "h1")
            #expect(try await store.vm(named: "web-1")?.state == .missing)
        }
    }

    @Test func aStaleAbsenceStillCountsWhenNoLaterInventoryShowsTheVM() async throws {
        let fake = FakeGroupManager(hosts: ["h1"])
        var configuration = ManagerConfiguration()
        configuration.heartbeatTimeout = .seconds(5)
        try await Self.withLeader(fake, configuration: configuration) { leader, store in
            try await Self.cluster(leader, "web", count: 1, prefix: "web")
            let stale = await fake.snapshot("h1")
            _ = try await Self.finished(leader, try await Self.submit(leader, .start, "web"))
            // The guest died at once: the latest inventory still lacks it when the result has settled.
            await fake.deliver(stale)
            await leader.inventoryReceived(stale, from: "h1")
            #expect(try await store.vm(named: "web-1")?.state == .running)
            #expect(await Self.eventually { (try? await store.vm(named: "web-1")?.state) == .missing })
        }
    }

    // MARK: Power on facts

    /// Real registry and group manager, a host joined but its connection gone: the power command cannot arrive.
    @Test func aPowerDownThatNeverArrivedLeavesTheHostAwake() async throws {
        let registry = HostRegistry(ringCapacity: 4, logger: Logger(label: "test"))
        var description = HostRegistryTests.agent("h1")
        description.capabilities = [.vmLifecycle, .suspendToRam]
        await registry.join(description, at: .now)
        let database = TemporaryStore()
        defer { database.remove() }
        var configuration = ManagerConfiguration()
        configuration.hostWake["h1"] = HostWakeConfiguration(drivers: [Self.noProcessWake])
        let leader = try GroupLeader(
            store: try database.open(),
            groupManager: GroupManager(registry: registry, logger: Logger(label: "test")),
            configuration: configuration,
            logger: Logger(label: "test")
        )
        let result = await leader.handle(HostPowerRequest(operation: .sleep, hostID: "h1"))
        #expect(!result.isOK, "\(result.message)")
        #expect(result.code == .notDelivered)
        #expect(await leader.power["h1"]?.state == .active)
        #expect(await registry.host("h1")?.state == .active)
    }

    /// A wake driver that starts no process: a magic packet to a closed local port.
    static let noProcessWake = HostWakeConfiguration.Driver.wakeOnLAN(
        mac: "52:54:00:00:00:01",
        broadcast: "127.0.0.1",
        port: 9
    )

    static func energyConfiguration() -> ManagerConfiguration {
        var configuration = ManagerConfiguration()
        configuration.energy.enabled = true
        configuration.energy.policy.idleTime = .milliseconds(100)
        configuration.energy.policy.reservedHosts = 0
        configuration.energy.policy.minimumAwake = .zero
        configuration.hostWake["h1"] = HostWakeConfiguration(drivers: [Self.noProcessWake])
        return configuration
    }

    @Test func aGuestThatIgnoresItsShutdownKeepsItsHostAwake() async throws {
        let fake = FakeGroupManager(hosts: ["h1"])
        try await Self.withLeader(fake, configuration: Self.energyConfiguration()) { leader, store in
            try await Self.cluster(leader, "web", count: 1, prefix: "web")
            _ = try await Self.finished(leader, try await Self.submit(leader, .start, "web"))
            await fake.setGuestsIgnoreShutdown(true)
            let shutdown = try await Self.finished(leader, try await Self.submit(leader, .shutdown, "web"))
            #expect(shutdown.state == .succeeded)
            // Asked, not done: the VM is shutting down until its host reports it off.
            #expect(try await store.vm(named: "web-1")?.state == .shuttingDown)
            // The guest's state did not change, so its agent sends no inventory: the latest still lists it running.
            _ = await fake.snapshot("h1")
            for _ in 0..<3 {
                await leader.evaluateEnergy()
                try await Task.sleep(for: .milliseconds(150))
            }
            #expect(await fake.powerCommands.isEmpty)
            #expect(try await store.vm(named: "web-1")?.state == .shuttingDown)

            // The guest goes off: the inventory says so, and the idle host is put to sleep.
            await fake.powerOff("web-1", on: "h1")
            await leader.inventoryReceived(await fake.snapshot("h1"), from: "h1")
            #expect(try await store.vm(named: "web-1")?.state == .stopped)
            #expect(
                await Self.eventually {
                    await leader.evaluateEnergy()
                    return await !fake.powerCommands.isEmpty
                }
            )
        }
    }

    @Test func theEnergyLoopDoesNotWaitForAWake() async throws {
        let fake = FakeGroupManager(hosts: ["h1"])
        var configuration = Self.energyConfiguration()
        configuration.energy.policy.reservedHosts = 1
        configuration.energy.policy.minimumAsleep = .zero
        configuration.energy.policy.powerOnWindow = .zero
        // Far longer than the bound below, so the test tells "returns" from "waits for the wake" on any machine.
        configuration.energy.wakeupTime = .seconds(900)
        // The packet goes out, the host never rejoins: the wake takes its whole wakeup time.
        configuration.hostWake["h1"] = HostWakeConfiguration(drivers: [Self.noProcessWake])
        try await Self.withLeader(fake, configuration: configuration) { leader, _ in
            await fake.fail("h1")
            await leader.hostGoingDown("h1", action: .suspendToRam, reason: "test")
            let started = ContinuousClock.now
            await leader.evaluateEnergy()
            #expect(ContinuousClock.now - started < .seconds(120))
            #expect(await Self.eventually { await leader.power["h1"]?.state == .waking })
        }
    }
}

/// A fencing driver that answers as told and records which hosts it fenced.
actor RecordingFencer: HostFencing {
    let outcome: HostFencingOutcome
    private(set) var fenced: [String] = []

    init(outcome: HostFencingOutcome) {
        self.outcome = outcome
    }

    func fence(host hostID: String) async -> HostFencingOutcome {
        fenced.append(hostID)
        return outcome
    }
}
