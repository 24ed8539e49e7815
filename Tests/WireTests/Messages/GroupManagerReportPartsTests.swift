import NIOCore
import Testing
import Wire

/// `GroupManagerReport.parts`: a group manager's report cut to fit the frame limit, every part a report that
/// decodes, together the whole report. Found by `bench/run ingest --group-manager`: 1,000 hosts of 20 VMs made a
/// 10 MB report the group manager could never send, and it lost its leader every report interval.
@Suite struct GroupManagerReportPartsTests {
    static let sample = ResourceAmounts(
        cpuCores: 0.5,
        memoryBytes: 1_073_741_824,
        networkRxBytesPerSecond: 10,
        networkTxBytesPerSecond: 20
    )

    /// Host `index` with `vms` VMs of `samples` samples each.
    static func host(_ index: Int, vms: Int = 20, samples: Int = 15) -> GroupManagerReport.Host {
        GroupManagerReportTests.host(
            "host-\(index)",
            vms: (0..<vms).map { slot in
                GroupManagerReport.VMSamples(
                    uuid: WireUUID(high: UInt64(index), low: UInt64(slot)),
                    samples: Array(repeating: sample, count: samples)
                )
            }
        )
    }

    static func payloadSize(_ report: GroupManagerReport) -> Int {
        var buffer = ByteBuffer()
        WireMessage.groupManagerReport(report).encodePayload(into: &buffer)
        return buffer.readableBytes
    }

    @Test func aReportThatFitsIsOnePartItself() {
        let report = GroupManagerReport(
            agentAddress: "10.0.0.31:7702",
            maxHosts: 40,
            hosts: (0..<10).map { Self.host($0) }
        )
        #expect(report.parts() == [report])
    }

    @Test func aThousandHostsOfTwentyVMsGoInPartsUnderTheLimitThatTogetherAreTheReport() throws {
        let report = GroupManagerReport(
            agentAddress: "10.0.0.31:7702",
            maxHosts: 0,
            hosts: (0..<1000).map { Self.host($0) }
        )
        #expect(Self.payloadSize(report) > WireFrameDecoder.defaultMaximumPayloadLength)
        let parts = report.parts()
        #expect(parts.count > 1)
        for part in parts {
            #expect(Self.payloadSize(part) <= WireFrameDecoder.defaultMaximumPayloadLength)
            #expect(part.agentAddress == report.agentAddress)
            #expect(part.maxHosts == report.maxHosts)
            try expectRoundTrip(.groupManagerReport(part))
        }
        #expect(parts.flatMap(\.hosts) == report.hosts)
        // Parts are filled: none but the last under half the limit.
        for part in parts.dropLast() {
            #expect(Self.payloadSize(part) > WireFrameDecoder.defaultMaximumPayloadLength / 2)
        }
    }

    @Test(arguments: [1_000, 4_096, 65_536])
    func everyLimitIsKept(_ limit: Int) {
        let report = GroupManagerReport(agentAddress: "a:1", hosts: (0..<50).map { Self.host($0, vms: 3, samples: 4) })
        let parts = report.parts(maximumPayloadLength: limit)
        #expect(parts.allSatisfy { Self.payloadSize($0) <= limit })
        #expect(parts.flatMap(\.hosts) == report.hosts)
    }

    @Test(arguments: [600, 1_000, 4_096])
    func partsKeepWhichHostsHaveNewSamplesAndTheWindowWithinTheLimit(_ limit: Int) throws {
        var hosts = (0..<100).map { Self.host($0, vms: 2, samples: $0 % 4) }
        for index in hosts.indices { hosts[index].samplesAreNew = index % 3 != 0 }
        let report = GroupManagerReport(agentAddress: "a:1", hosts: hosts, sampleWindow: 15)
        let parts = report.parts(maximumPayloadLength: limit)
        #expect(parts.count > 1)
        for part in parts {
            #expect(Self.payloadSize(part) <= limit)
            #expect(part.sampleWindow == 15)
            try expectRoundTrip(.groupManagerReport(part))
        }
        #expect(parts.flatMap(\.hosts) == report.hosts)
    }

    @Test(arguments: [700, 1_000, 4_096])
    func partsKeepHypervisorProblemsWithinTheLimit(_ limit: Int) throws {
        var hosts = (0..<60).map { Self.host($0, vms: 2, samples: 2) }
        for index in hosts.indices where index % 4 == 0 {
            hosts[index].status.hypervisorProblem = String(repeating: "x", count: HypervisorStatus.maximumProblemBytes)
        }
        hosts[1].samplesAreNew = true
        let report = GroupManagerReport(agentAddress: "a:1", hosts: hosts, sampleWindow: 15)
        let parts = report.parts(maximumPayloadLength: limit)
        #expect(parts.count > 1)
        for part in parts {
            #expect(Self.payloadSize(part) <= limit)
            try expectRoundTrip(.groupManagerReport(part))
        }
        #expect(parts.flatMap(\.hosts) == report.hosts)
    }

    @Test func aHostTooBigForAPartKeepsItsVMsNewestSamples() throws {
        // 20 VMs × 15 samples × 32 bytes ≈ 10 KB: in a 4 KB part each VM keeps its newest few.
        let newest = ResourceAmounts(cpuCores: 7)
        var big = Self.host(1)
        for index in big.vms.indices { big.vms[index].samples[14] = newest }
        let report = GroupManagerReport(agentAddress: "a:1", hosts: [Self.host(0, vms: 1, samples: 1), big])
        let parts = report.parts(maximumPayloadLength: 4_096)
        #expect(parts.allSatisfy { Self.payloadSize($0) <= 4_096 })
        let sent = try #require(parts.flatMap(\.hosts).first { $0.status.hostID == "host-1" })
        #expect(sent.vms.map(\.uuid) == big.vms.map(\.uuid))
        #expect(sent.vms.allSatisfy { !$0.samples.isEmpty && $0.samples.count < 15 && $0.samples.last == newest })
    }

    @Test func aHostTooBigEvenWithoutSamplesGoesWithoutVMs() {
        let report = GroupManagerReport(agentAddress: "a:1", hosts: [Self.host(0, vms: 300, samples: 1)])
        let parts = report.parts(maximumPayloadLength: 2_048)
        #expect(parts.count == 1)
        #expect(parts[0].hosts.map(\.status.hostID) == ["host-0"])
        #expect(parts[0].hosts[0].vms.isEmpty)
        #expect(Self.payloadSize(parts[0]) <= 2_048)
    }

    @Test func aReportWithoutHostsIsOneEmptyPart() {
        let report = GroupManagerReport(agentAddress: "a:1", hosts: [])
        #expect(report.parts() == [report])
    }
}
