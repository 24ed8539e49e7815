import IngestBench
import Logging
import Manager
import Synchronization
import Testing
import Wire

/// The seam bench/run ingest measures through: AgentSession tells `reportRecorded` once the report is in the ring,
/// and only reports that passed validation.
struct ReportRecordedTests {
    @Test("a report is in the host's ring when reportRecorded hears of it; an invalid one is not told")
    func recordedAfterTheRing() async throws {
        let logger = Logger(label: "test")
        let registry = HostRegistry(ringCapacity: 4, logger: logger)
        let hostID = IngestCertificates.hostID(7)
        _ = await registry.join(try #require(SimulatedReport.hello(hostID).agent), at: .now)
        let heard = Mutex<[Int64]>([])
        let session = AgentSession(
            registry: registry, observer: nil, logger: logger,
            reportRecorded: { report, host in
                #expect(host == hostID)
                heard.withLock { $0.append(report.timestampMilliseconds) }
            }
        )
        await session.handle(.monitoringReport(SimulatedReport.report(7, at: 1000)), from: hostID, logger: logger)
        var invalid = SimulatedReport.report(7, at: 2000)
        invalid.host.cpuCoresInUse = .nan
        await session.handle(.monitoringReport(invalid), from: hostID, logger: logger)
        #expect(heard.withLock { $0 } == [1000])
        let ring = try #require(await registry.host(hostID)).reports
        #expect(ring.count == 1)
        #expect(SimulatedReport.report(7, at: 0).vms.count == 20)
    }
}
