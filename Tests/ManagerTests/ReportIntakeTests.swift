import Logging
import Synchronization
import Testing
import Wire

@testable import Manager

/// Reports and heartbeats taken on the agents' connections reach the registry in batches (`ReportIntake`), with
/// the registry's rules for which connection they came from.
@Suite struct ReportIntakeTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        /// Before the arrival, the host is failed by silence, and its connection closed.
        let failedFirst: Bool
        let disconnectedFirst: Bool
        /// The arrival comes from the host's connection, or from an older one.
        let fromCurrentConnection: Bool
        let carriesReport: Bool
        let state: HostRecord.State
        let ring: [Int64]
        let heartbeats: UInt64

        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "a report from the host's connection is a heartbeat and lands in its ring",
            failedFirst: false, disconnectedFirst: false, fromCurrentConnection: true, carriesReport: true,
            state: .active, ring: [7], heartbeats: 1
        ),
        Case(
            name: "a heartbeat push is a heartbeat and adds no sample",
            failedFirst: false, disconnectedFirst: false, fromCurrentConnection: true, carriesReport: false,
            state: .active, ring: [], heartbeats: 1
        ),
        Case(
            name: "a report brings a FAILED host whose agent is connected back",
            failedFirst: true, disconnectedFirst: false, fromCurrentConnection: true, carriesReport: true,
            state: .active, ring: [7], heartbeats: 1
        ),
        Case(
            name: "a report that arrived before its connection closed is kept, the FAILED host stays FAILED",
            failedFirst: true, disconnectedFirst: true, fromCurrentConnection: true, carriesReport: true,
            state: .failed, ring: [7], heartbeats: 1
        ),
        Case(
            name: "a report from a connection the host no longer uses is dropped",
            failedFirst: false, disconnectedFirst: false, fromCurrentConnection: false, carriesReport: true,
            state: .active, ring: [], heartbeats: 0
        ),
    ]

    @Test(arguments: cases)
    func arrivalsFollowTheRegistrysRules(_ test: Case) async throws {
        let registry = HostRegistry(ringCapacity: 4, logger: Logger(label: "test"))
        let start = ContinuousClock.now
        let old = await registry.join(HostRegistryTests.agent("h1"), at: start)
        let current = await registry.join(HostRegistryTests.agent("h1"), at: start)
        if test.failedFirst {
            #expect(await registry.expire(timeout: .seconds(5), at: start + .seconds(6)).map(\.hostID) == ["h1"])
        }
        if test.disconnectedFirst { await registry.disconnected("h1", connectionID: current) }
        let arrival = ReportIntake.Arrival(
            hostID: "h1",
            connectionID: test.fromCurrentConnection ? current : old,
            report: test.carriesReport ? HostRegistryTests.report(7) : nil,
            at: start + .seconds(7)
        )
        // Another host's arrival in the same batch changes nothing here, and adds no host.
        let stranger = ReportIntake.Arrival(
            hostID: "h9", connectionID: current, report: HostRegistryTests.report(8), at: start
        )
        await registry.record([arrival, stranger])

        let host = try #require(await registry.host("h1"))
        #expect(host.state == test.state)
        #expect(host.reports.elements().map(\.timestampMilliseconds) == test.ring)
        #expect(host.heartbeats == test.heartbeats)
        #expect(host.lastHeartbeat == (test.heartbeats == 0 ? start : start + .seconds(7)))
        #expect(host.lastReport == (test.ring.isEmpty ? nil : start + .seconds(7)))
        #expect(await registry.all().map(\.hostID) == ["h1"])
    }

    @Test("arrivals taken one by one reach the ring in order, and each report is told once it is there")
    func takenArrivalsReachTheRingInOrder() async throws {
        let registry = HostRegistry(ringCapacity: 8, logger: Logger(label: "test"))
        let connection = await registry.join(HostRegistryTests.agent("h1"), at: .now)
        let told = Mutex<[Int64]>([])
        let intake = ReportIntake(registry: registry, coalescing: .milliseconds(1)) { report, hostID in
            #expect(hostID == "h1")
            told.withLock { $0.append(report.timestampMilliseconds) }
        }
        for timestamp in 1...5 as ClosedRange<Int64> {
            let report = HostRegistryTests.report(timestamp)
            #expect(intake.take(.init(hostID: "h1", connectionID: connection, report: report, at: .now)))
            #expect(intake.take(.init(hostID: "h1", connectionID: connection, report: nil, at: .now)))
            // Some arrive while a batch is being handed over, some after the intake went idle.
            if timestamp.isMultiple(of: 2) { try await Task.sleep(for: .milliseconds(20)) }
        }
        // The last batch may still be on its way: wait for it (at most 30 s) before looking.
        for _ in 0..<6_000 {
            let heartbeats = await registry.host("h1")?.heartbeats
            if heartbeats == 10, told.withLock({ $0.count }) == 5 { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        let host = try #require(await registry.host("h1"))
        #expect(host.reports.elements().map(\.timestampMilliseconds) == [1, 2, 3, 4, 5])
        #expect(host.heartbeats == 10)
        #expect(told.withLock { $0 } == [1, 2, 3, 4, 5])
    }

    @Test("a full intake refuses an arrival, queuing nothing, and takes again once its batch went to the registry")
    func aFullIntakeRefuses() async throws {
        let registry = HostRegistry(ringCapacity: 8, logger: Logger(label: "test"))
        let connection = await registry.join(HostRegistryTests.agent("h1"), at: .now)
        // The batch waits 2 s: the three takes below run one after the other, well within it.
        let intake = ReportIntake(registry: registry, coalescing: .seconds(2), capacity: 2, recorded: nil)
        func arrival(_ timestamp: Int64) -> ReportIntake.Arrival {
            .init(hostID: "h1", connectionID: connection, report: HostRegistryTests.report(timestamp), at: .now)
        }
        #expect(intake.take(arrival(1)))
        #expect(intake.take(arrival(2)))
        #expect(!intake.take(arrival(3)))
        for _ in 0..<600 where await registry.host("h1")?.reports.count ?? 0 < 2 {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(intake.take(arrival(4)))
        for _ in 0..<600 where await registry.host("h1")?.reports.count ?? 0 < 3 {
            try await Task.sleep(for: .milliseconds(50))
        }
        let ring = try #require(await registry.host("h1")).reports.elements().map(\.timestampMilliseconds)
        #expect(ring == [1, 2, 4])
    }
}
