import ConfigFile
import Logging
import Testing
import Wire

@testable import Manager

@Suite struct HostRegistryTests {
    static func agent(_ id: String) -> AgentDescription {
        AgentDescription(
            hostID: id,
            hostname: "\(id).lab",
            capabilities: [.vmLifecycle],
            capacity: HostCapacity(
                cores: 8,
                memoryBytes: 16 << 30,
                nicRxBytesPerSecond: 125_000_000,
                nicTxBytesPerSecond: 125_000_000
            ),
            wake: WakeSettings(),
            listenAddress: "127.0.0.1:7701"
        )
    }

    /// A report of a host with no VMs, sampled at `timestamp`.
    static func report(_ timestamp: Int64) -> MonitoringReport {
        MonitoringReport(
            timestampMilliseconds: timestamp,
            host: MonitoringReport.HostSample(
                cpuCoresInUse: 1,
                memoryInUseBytes: 1,
                networkRxBytesPerSecond: 0,
                networkTxBytesPerSecond: 0
            ),
            vms: []
        )
    }

    @Test func silentHostFailsAfterTimeoutAndRejoinsUnderSameIdentity() async {
        let registry = HostRegistry(ringCapacity: 4, logger: Logger(label: "test"))
        let start = ContinuousClock.now
        await registry.join(Self.agent("h1"), at: start)
        await registry.join(Self.agent("h2"), at: start)
        await registry.record(
            Inventory(
                hostID: "h1",
                vms: [
                    Inventory.Entry(slot: 0, uuid: .zero, name: "web", state: .running, virtualCPUs: 1, memoryKiB: 1024)
                ]
            ),
            from: "h1"
        )
        await registry.heartbeat(from: "h2", at: start + .seconds(9))

        #expect(await registry.expire(timeout: .seconds(10), at: start + .seconds(5)).isEmpty)
        let failed = await registry.expire(timeout: .seconds(10), at: start + .seconds(11))
        #expect(failed.map(\.hostID) == ["h1"])
        #expect(failed.first?.inventory?.vms.map(\.name) == ["web"])
        #expect(await registry.host("h1")?.state == .failed)
        #expect(await registry.host("h2")?.state == .active)
        // Already failed: not reported twice.
        #expect(await registry.expire(timeout: .seconds(10), at: start + .seconds(12)).map(\.hostID) == [])

        await registry.join(Self.agent("h1"), at: start + .seconds(20))
        #expect(await registry.host("h1")?.state == .active)
        #expect(await registry.host("h1")?.inventory?.vms.map(\.name) == ["web"])
        #expect(await registry.all().map(\.hostID) == ["h1", "h2"])
    }

    @Test func reportsAreKeptInABoundedRing() async {
        let registry = HostRegistry(ringCapacity: 3, logger: Logger(label: "test"))
        await registry.join(Self.agent("h1"), at: .now)
        for time in 0..<10 {
            await registry.record(Self.report(Int64(time)), from: "h1", at: .now)
        }
        let record = await registry.host("h1")
        #expect(record?.reports.count == 3)
        #expect(record?.reports.last?.timestampMilliseconds == 9)
    }

    /// An agent's report counts as its heartbeat and lands in its ring in the same call (one hop per report).
    @Test func aReportIsAHeartbeatRecordedInOneCall() async {
        let registry = HostRegistry(ringCapacity: 3, logger: Logger(label: "test"))
        let start = ContinuousClock.now
        await registry.join(Self.agent("h1"), at: start)
        #expect(await registry.expire(timeout: .seconds(10), at: start + .seconds(11)).map(\.hostID) == ["h1"])
        let report = Self.report(42)
        await registry.heartbeat(from: "h1", recording: report, at: start + .seconds(12))
        // An unknown host's report changes nothing and adds no host.
        await registry.heartbeat(from: "h9", recording: report, at: start + .seconds(12))

        let record = await registry.host("h1")
        #expect(record?.state == .active)
        #expect(record?.heartbeats == 1)
        #expect(record?.lastHeartbeat == start + .seconds(12))
        #expect(record?.lastReport == start + .seconds(12))
        #expect(record?.reports.elements().map(\.timestampMilliseconds) == [42])
        #expect(await registry.all().map(\.hostID) == ["h1"])
    }
}

extension HostRegistryTests {
    /// Before the fix the registry kept every host id ever announced.
    @Test func aHostFailedAndDisconnectedPastTheRetentionIsForgotten() async {
        let registry = HostRegistry(ringCapacity: 4, retention: .seconds(100), logger: Logger(label: "test"))
        let start = ContinuousClock.now
        for id in ["once", "sleeper", "connected"] {
            let connection = await registry.join(Self.agent(id), at: start)
            if id != "connected" { await registry.disconnected(id, connectionID: connection) }
        }
        await registry.setState(.sleeping, of: "sleeper", at: start)
        // FAILED at +11 s (silent past the 10 s timeout): remembered through the retention, forgotten after it.
        let failed = await registry.expire(timeout: .seconds(10), at: start + .seconds(11))
        #expect(Set(failed.map(\.hostID)) == ["connected", "once"])
        _ = await registry.expire(timeout: .seconds(10), at: start + .seconds(110))
        #expect(await registry.host("once") != nil)
        _ = await registry.expire(timeout: .seconds(10), at: start + .seconds(112))
        #expect(await registry.host("once") == nil)
        // Asleep by our order, or still connected though FAILED: kept.
        #expect(await registry.host("sleeper")?.state == .sleeping)
        #expect(await registry.host("connected")?.state == .failed)
        #expect(await registry.all().map(\.hostID) == ["connected", "sleeper"])
        // A forgotten host that comes back joins as new.
        await registry.join(Self.agent("once"), at: start + .seconds(120))
        #expect(await registry.host("once")?.state == .active)
    }

    /// A host the leader moves to another group manager is forgotten at once: its silence that follows is never
    /// taken for a failure (which would reach the leader and fence it), and its old session's end marks nothing.
    @Test func aReleasedHostIsForgottenAndNeverFails() async {
        let registry = HostRegistry(ringCapacity: 4, logger: Logger(label: "test"))
        let start = ContinuousClock.now
        let connection = await registry.join(Self.agent("moving"), at: start)
        await registry.join(Self.agent("staying"), at: start)
        #expect(await registry.release("moving") == nil, "joined without a connection here")
        await registry.disconnected("moving", connectionID: connection)
        #expect(await registry.host("moving") == nil)
        let failed = await registry.expire(timeout: .seconds(10), at: start + .seconds(11))
        #expect(failed.map(\.hostID) == ["staying"])
        #expect(await registry.all().map(\.hostID) == ["staying"])
        // Sent back later, it joins as new.
        await registry.join(Self.agent("moving"), at: start + .seconds(20))
        #expect(await registry.host("moving")?.state == .active)
    }
}

@Suite struct ManagerConfigurationTests {
    @Test func defaultsFollowSnooze() throws {
        let configuration = try ManagerConfiguration.load(yaml: "", file: "manager.yaml")
        #expect(configuration.heartbeatInterval == .seconds(3))
        #expect(configuration.heartbeatTimeout == .seconds(10))
        #expect(configuration.ringCapacity == 30)
    }

    @Test func timeoutMustExceedInterval() throws {
        let error = try #require(throws: ConfigError.self) {
            try ManagerConfiguration.load(yaml: "heartbeat_interval: 5s\nheartbeat_timeout: 4s\n", file: "manager.yaml")
        }
        #expect(error.key == "heartbeat_timeout")
    }

    @Test func unknownKeyIsNamed() throws {
        let error = try #require(throws: ConfigError.self) {
            try ManagerConfiguration.load(yaml: "hearbeat_timeout: 4s\n", file: "manager.yaml")
        }
        #expect(error.description.contains("did you mean 'heartbeat_timeout'"))
    }
}
