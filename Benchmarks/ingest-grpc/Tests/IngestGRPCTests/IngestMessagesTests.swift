import IngestBench
import IngestGRPC
import SwiftProtobuf
import Testing
import Wire

/// The protobuf twins carry Wire's Hello and MonitoringReport unchanged, and refuse values Wire's types cannot hold.
@Suite struct IngestMessagesTests {
    @Test func reportSurvivesTheProtobufRoundTrip() throws {
        var report = SimulatedReport.report(7, at: 1_764_000_000_123)
        report.vms[3].state = .paused
        let message = Torpor_Ingest_MonitoringReport(report)
        let bytes: [UInt8] = try message.serializedBytes()
        let decoded = try MonitoringReport(Torpor_Ingest_MonitoringReport(serializedBytes: bytes))
        #expect(decoded == report)
        #expect(decoded.vms.count == SimulatedReport.vmsPerReport)
    }

    @Test func helloSurvivesTheProtobufRoundTrip() throws {
        let hello = SimulatedReport.hello("bench-agent-3")
        let decoded = try Hello(Torpor_Ingest_AgentHello(hello))
        #expect(decoded.agent == hello.agent)
        #expect(decoded.role == .agent)
        #expect(decoded.nodeName == hello.nodeName)
    }

    @Test(arguments: [
        (slot: UInt32(70_000), state: 1, problem: "slot 70000 is over 65535"),
        (slot: UInt32(1), state: 9, problem: "state 9 is no VMState"),
    ])
    func reportWithValuesWireCannotHoldIsRefused(slot: UInt32, state: Int, problem: String) {
        var message = Torpor_Ingest_MonitoringReport(SimulatedReport.report(0, at: 1))
        message.vms[2].slot = slot
        message.vms[2].state = Torpor_Ingest_VMState(rawValue: state) ?? .noState
        #expect(throws: IngestMessageError(description: "MonitoringReport.vms[2].\(problem)")) {
            try MonitoringReport(message)
        }
    }

    @Test func helloWithTooManyCoresIsRefused() {
        var message = Torpor_Ingest_AgentHello(SimulatedReport.hello("bench-agent-0"))
        message.cores = 70_000
        #expect(throws: IngestMessageError(description: "AgentHello.cores 70000 is over 65535")) {
            try Hello(message)
        }
    }
}
