import AgentControl
import Testing
import Wire

@testable import TorporCLI

/// `torpor hosts` shows each host's estimated use next to what its VMs asked for; `torpor vm info` a VM's estimate
/// next to its request.
@Suite struct EstimateOutputTests {
    static let estimate = ManagerStatusReply.HostEstimate(
        estimatedUse: ResourceAmounts(cpuCores: 1.25, memoryBytes: 3 * 1_073_741_824, networkRxBytesPerSecond: 2_048),
        requested: ResourceAmounts(cpuCores: 4, memoryBytes: 8 * 1_073_741_824),
        measuredVMs: 2
    )

    static func column(_ name: String, header: String, row: String) -> String {
        let start = header.range(of: name)!.lowerBound
        let offset = header.distance(from: header.startIndex, to: start)
        return String(row.dropFirst(offset).prefix { $0 != " " })
    }

    @Test func hostsShowEstimatedUseOverRequested() throws {
        var estimated = HostTableTests.host("h-est", state: .active, connected: true)
        estimated.estimate = Self.estimate
        var gone = HostTableTests.host("h-gone", state: .failed, connected: false)
        gone.estimate = Self.estimate
        let plain = HostTableTests.host("h-old", state: .active, connected: true)
        let text = HostTable.text(HostTableTests.reply([estimated, gone, plain]), address: "x")
        let lines = text.split(separator: "\n").map(String.init)
        let header = try #require(lines.first { $0.hasPrefix("HOST ") })
        let row = try #require(lines.first { $0.hasPrefix("h-est ") })
        #expect(Self.column("CPU EST/REQ", header: header, row: row) == "1.25/4")
        #expect(row.contains("3.0 GiB/8.0 GiB"))
        // A host whose numbers are not current, or a manager that sends no estimate: unknown.
        let goneRow = try #require(lines.first { $0.hasPrefix("h-gone ") })
        #expect(Self.column("CPU EST/REQ", header: header, row: goneRow) == "-")
        #expect(Self.column("MEM EST/REQ", header: header, row: goneRow) == "-")
        let oldRow = try #require(lines.first { $0.hasPrefix("h-old ") })
        #expect(Self.column("CPU EST/REQ", header: header, row: oldRow) == "-")
    }

    @Test func hostsJSONCarriesTheEstimate() throws {
        var estimated = HostTableTests.host("a", state: .active, connected: true)
        estimated.estimate = Self.estimate
        var gone = HostTableTests.host("b", state: .sleeping, connected: false)
        gone.estimate = Self.estimate
        let json = HostTable.json(
            HostTableTests.reply([estimated, gone, HostTableTests.host("c", state: .active, connected: true)]),
            address: "x"
        )
        let hosts = try #require(json["hosts"] as? [[String: Any]])
        let estimate = try #require(hosts[0]["estimate"] as? [String: Any])
        #expect((estimate["estimatedUse"] as? [String: Any])?["cpuCores"] as? Double == 1.25)
        #expect((estimate["requested"] as? [String: Any])?["memoryBytes"] as? Double == Double(8 * 1_073_741_824))
        #expect(estimate["measuredVms"] as? Int == 2)
        #expect(hosts[1]["estimate"] == nil && hosts[1]["lastEstimate"] != nil)
        #expect(hosts[2]["estimate"] == nil && hosts[2]["lastEstimate"] == nil)
    }

    static func vm(estimate: ClusterReply.VMEstimate?) -> ClusterReply.VM {
        ClusterReply.VM(
            name: "web-1",
            uuid: "6695eb01-f6a4-8304-79aa-97f2502e193f",
            state: "running",
            desiredState: "running",
            hostID: "host-2",
            ipAddress: "10.42.0.7",
            macAddress: "52:54:0a:2a:00:07",
            virtualCPUs: 2,
            memoryBytes: 2 * 1_073_741_824,
            networkRxBytesPerSecond: 1_048_576,
            networkTxBytesPerSecond: 0,
            reason: "",
            estimate: estimate
        )
    }

    @Test func vmInfoShowsTheEstimateNextToTheRequest() throws {
        let estimate = ClusterReply.VMEstimate(
            estimated: ResourceAmounts(cpuCores: 0.37, memoryBytes: 805_306_368, networkRxBytesPerSecond: 10_240),
            samples: 15
        )
        let text = ClusterOutput.vmInfo(Self.vm(estimate: estimate), cluster: "web")
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.contains("estimate (mean of the newest 15 samples):"))
        let requested = try #require(lines.first { $0.hasPrefix("requested ") })
        let estimated = try #require(lines.first { $0.hasPrefix("estimated ") })
        #expect(requested.contains("2 cores") && requested.contains("2.0 GiB") && requested.contains("1.0 MiB/s"))
        #expect(estimated.contains("0.37 cores") && estimated.contains("768.0 MiB") && estimated.contains("10.0 KiB/s"))
        let json = ClusterOutput.json(Self.vm(estimate: estimate))
        let object = try #require(json["estimate"] as? [String: Any])
        #expect(object["cpuCores"] as? Double == 0.37)
        #expect(object["samples"] as? Int == 15)
    }

    @Test func vmInfoWithoutAnEstimateIsTheRowAlone() {
        let text = ClusterOutput.vmInfo(Self.vm(estimate: nil), cluster: "web")
        #expect(!text.contains("estimate"))
        #expect(text.contains("web-1"))
        #expect(ClusterOutput.json(Self.vm(estimate: nil))["estimate"] == nil)
        let unsampled = ClusterOutput.vmInfo(
            Self.vm(estimate: ClusterReply.VMEstimate(estimated: ResourceAmounts(cpuCores: 2), samples: 0)),
            cluster: "web"
        )
        #expect(unsampled.contains("estimate (no samples: taken at its request):"))
    }
}
