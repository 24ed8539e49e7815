import Testing

@testable import IngestBench

/// How the group-manager rows of `bench/run ingest` read the reports a group manager received from its /metrics.
struct MetricsTextTests {
    static let scrape = """
        # HELP torpor_wire_frames_received_total Wire frames received.
        # TYPE torpor_wire_frames_received_total counter
        torpor_wire_frames_received_total{type="Hello"} 3
        torpor_wire_frames_received_total{type="MonitoringReport"} 120345
        torpor_wire_frames_received_total{type="MonitoringReportX"} 7
        torpor_agents_connected 3
        """

    @Test func theSampleWithExactlyTheseLabelsIsRead() {
        #expect(
            MetricsText.value(
                of: "torpor_wire_frames_received_total",
                labels: "type=\"MonitoringReport\"",
                in: Self.scrape
            )
                == 120_345
        )
        #expect(
            MetricsText.value(of: "torpor_wire_frames_received_total", labels: "type=\"Hello\"", in: Self.scrape) == 3
        )
    }

    @Test func anAbsentSampleIsNil() {
        #expect(
            MetricsText.value(of: "torpor_wire_frames_received_total", labels: "type=\"Ping\"", in: Self.scrape) == nil
        )
        #expect(MetricsText.value(of: "torpor_wire_frames_received_total", labels: "type=\"Hello\"", in: "") == nil)
    }

    @Test func aFreeLoopbackPortIsAPort() throws {
        let port = try FreeLoopbackPort.pick()
        #expect((1...65535).contains(port))
    }
}
