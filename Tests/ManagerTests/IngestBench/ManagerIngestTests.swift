import IngestBench
import Testing
import Transport
import Wire

/// The gRPC side's seam (Benchmarks/ingest-grpc): a Hello is checked as WireIngestServer's welcome checks it, and
/// a joined agent's reports are counted once in the ring, invalid ones not.
struct ManagerIngestTests {
    @Test("a Hello that is not an agent's, or not valid, is refused with the code Wire's welcome would send")
    func refusedHellos() async {
        let ingest = ManagerIngest()
        var invalid = SimulatedReport.hello("bench-agent-1")
        invalid.agent?.hostID = ""
        let cases: [(Hello, ErrorMessage.Code)] = [
            (Hello(role: .control, softwareVersion: "bench", nodeName: "ctl"), .unsupported),
            (invalid, .invalidValue),
        ]
        for (hello, code) in cases {
            do {
                _ = try await ingest.join(hello)
                Issue.record("\(hello.role) hello with host id '\(hello.agent?.hostID ?? "-")' was admitted")
            } catch {
                #expect(error.code == code, "\(error.message)")
            }
        }
    }

    @Test("a joined agent's valid report is counted, an invalid one is not")
    func reportsOfAJoinedAgent() async throws {
        let ingest = ManagerIngest()
        let hostID = IngestCertificates.hostID(2)
        let connection = try await ingest.join(SimulatedReport.hello(hostID))
        await ingest.report(SimulatedReport.report(2, at: 1000), from: hostID, connectionID: connection)
        var invalid = SimulatedReport.report(2, at: 2000)
        invalid.host.cpuCoresInUse = .nan
        await ingest.report(invalid, from: hostID, connectionID: connection)
        await ingest.report(SimulatedReport.report(2, at: 3000), from: hostID, connectionID: connection)
        // Valid reports reach the ring in the registry's next batch, a few milliseconds later (at most 30 s here).
        for _ in 0..<6_000 where ingest.counters.snapshot.processed < 2 {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(ingest.counters.snapshot.processed == 2)
        await ingest.left(hostID, connectionID: connection)
    }
}
