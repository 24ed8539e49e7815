import NIOCore
import Testing
import Wire

extension Samples {
    static let goldenGroupManagerReport = WireEnvelope(
        message: .groupManagerReport(
            GroupManagerReport(
                agentAddress: "10.0.0.21:7710",
                maxHosts: 50,
                hosts: [
                    GroupManagerReport.Host(
                        status: ManagerStatusReply.Host(
                            hostID: "h1",
                            hostname: "kvm-1",
                            state: .active,
                            connected: true,
                            millisecondsSinceHeartbeat: 812,
                            millisecondsSinceReport: 1_250,
                            ringFill: 12,
                            ringCapacity: 30,
                            vmCount: 1,
                            capacity: capacity,
                            usage: nil,
                            millisecondsInState: 133_000,
                            watts: 182.5
                        ),
                        capabilities: [.vmLifecycle, .liveMigration, .powerMetering],
                        hasInventory: true,
                        vms: [
                            GroupManagerReport.VMSamples(
                                uuid: webUUID,
                                samples: [
                                    ResourceAmounts(
                                        cpuCores: 1.5,
                                        memoryBytes: 2_147_483_648,
                                        networkRxBytesPerSecond: 40_960.25,
                                        networkTxBytesPerSecond: 81_920
                                    ),
                                    ResourceAmounts(
                                        cpuCores: 0.75,
                                        memoryBytes: 2_147_483_648,
                                        networkRxBytesPerSecond: 0,
                                        networkTxBytesPerSecond: 1_024
                                    ),
                                ]
                            )
                        ]
                    )
                ]
            )
        )
    )
}

extension Samples {
    /// Two hosts of gm-2 in a link's later report: h1 with the one sample taken since the previous report, h2
    /// without VMs and with its whole (empty) window.
    static let goldenGroupManagerReportNewSamples = WireEnvelope(
        message: .groupManagerReport(
            GroupManagerReport(
                agentAddress: "10.0.0.21:7710",
                hosts: ["h1", "h2"].map { id in
                    GroupManagerReport.Host(
                        status: ManagerStatusReply.Host(
                            hostID: id,
                            hostname: "",
                            state: .active,
                            connected: true,
                            millisecondsSinceHeartbeat: 0,
                            millisecondsSinceReport: nil,
                            ringFill: 0,
                            ringCapacity: 0,
                            vmCount: id == "h1" ? 1 : 0,
                            capacity: HostCapacity(
                                cores: 0,
                                memoryBytes: 0,
                                nicRxBytesPerSecond: 0,
                                nicTxBytesPerSecond: 0
                            ),
                            usage: nil
                        ),
                        capabilities: [],
                        hasInventory: true,
                        vms: id == "h1"
                            ? [GroupManagerReport.VMSamples(uuid: webUUID, samples: [ResourceAmounts(cpuCores: 0.75)])]
                            : [],
                        samplesAreNew: id == "h1"
                    )
                },
                sampleWindow: 15
            )
        )
    )
}

/// GroupManagerReport (0x50): round trips, its bytes, and what a decoder refuses.
@Suite struct GroupManagerReportTests {
    static func host(
        _ id: String = "0f2c9e8a7b6d4c3b",
        state: ManagerStatusReply.HostState = .active,
        connected: Bool = true,
        sinceReport: UInt64? = 1_250,
        usage: MonitoringReport.HostSample? = Samples.host,
        inState: UInt64? = nil,
        watts: Double? = nil,
        estimate: ManagerStatusReply.HostEstimate? = nil,
        capabilities: AgentCapabilities = [.vmLifecycle, .liveMigration],
        hasInventory: Bool = true,
        vms: [GroupManagerReport.VMSamples] = []
    ) -> GroupManagerReport.Host {
        GroupManagerReport.Host(
            status: ManagerStatusReplyTests.host(
                id,
                state: state,
                connected: connected,
                sinceReport: sinceReport,
                usage: usage,
                inState: inState,
                watts: watts,
                estimate: estimate
            ),
            capabilities: capabilities,
            hasInventory: hasInventory,
            vms: vms
        )
    }

    static func report(_ hosts: [GroupManagerReport.Host], maxHosts: UInt32 = 0) -> WireMessage {
        .groupManagerReport(GroupManagerReport(agentAddress: "10.0.0.21:7710", maxHosts: maxHosts, hosts: hosts))
    }

    static let samples = [
        ResourceAmounts(
            cpuCores: 0.25,
            memoryBytes: 1_073_741_824,
            networkRxBytesPerSecond: 10,
            networkTxBytesPerSecond: 20
        ),
        ResourceAmounts(),
        ResourceAmounts(
            cpuCores: .greatestFiniteMagnitude,
            memoryBytes: -0.0,
            networkRxBytesPerSecond: .infinity,
            networkTxBytesPerSecond: .leastNonzeroMagnitude
        ),
    ]

    /// A report of one host written by hand, the smallest a decoder must accept unless a field says otherwise:
    /// agentAddress "a:1", hostID "h", empty hostname, absent optionals, zeros. Offsets of the payload: hosts count 9,
    /// state 16, connected 17, inState presence 60, watts presence 61, estimate presence 62, hasInventory 67, VM
    /// count 68.
    static func minimalPayload(
        agentAddress: String = "a:1",
        hostCount: UInt16 = 1,
        hostID: String = "h",
        vms: (count: UInt16, present: Int, sampleCount: UInt16) = (0, 0, 0)
    ) -> ByteBuffer {
        var payload = ByteBuffer()
        payload.writeInteger(UInt16(agentAddress.utf8.count))
        payload.writeString(agentAddress)
        payload.writeInteger(UInt32(0))  // maxHosts
        payload.writeInteger(hostCount)
        payload.writeInteger(UInt16(hostID.utf8.count))
        payload.writeString(hostID)
        payload.writeInteger(UInt16(0))  // hostname ""
        payload.writeInteger(UInt8(1))  // state active
        payload.writeInteger(UInt8(0))  // connected false
        payload.writeInteger(UInt64(0))  // millisecondsSinceHeartbeat
        payload.writeInteger(UInt8(0))  // millisecondsSinceReport absent
        payload.writeBytes([UInt8](repeating: 0, count: 6))  // ringFill, ringCapacity, vmCount
        payload.writeBytes([UInt8](repeating: 0, count: 26))  // capacity
        payload.writeInteger(UInt8(0))  // usage absent
        payload.writeBytes([0, 0, 0])  // millisecondsInState, watts, estimate absent
        payload.writeInteger(UInt32(0))  // capabilities
        payload.writeInteger(UInt8(0))  // hasInventory false
        payload.writeInteger(vms.count)
        for _ in 0..<vms.present {
            payload.writeBytes([UInt8](repeating: 0x11, count: 16))  // uuid
            payload.writeInteger(vms.sampleCount)
        }
        payload.writeInteger(UInt16(0))  // extension area
        return payload
    }

    @Test func roundTrips() throws {
        try expectRoundTrip(Samples.goldenGroupManagerReport.message, requestID: 0)
        try expectRoundTrip(Self.report([]))
        try expectRoundTrip(Self.report([Self.host()], maxHosts: .max))
    }

    @Test(arguments: ManagerStatusReply.HostState.allCases)
    func everyHostStateRoundTrips(state: ManagerStatusReply.HostState) throws {
        try expectRoundTrip(Self.report([Self.host(state: state)]))
    }

    @Test func everyOptionalPresentOrAbsentRoundTrips() throws {
        let hosts = [
            Self.host("a", state: .failed, connected: false, sinceReport: nil, usage: nil, hasInventory: false),
            Self.host(
                Samples.unicodeName,
                sinceReport: 0,
                inState: .max,
                watts: 0,
                estimate: ManagerStatusReplyTests.estimate,
                capabilities: AgentCapabilities(rawValue: .max),
                vms: [
                    GroupManagerReport.VMSamples(uuid: Samples.webUUID, samples: Self.samples),
                    GroupManagerReport.VMSamples(uuid: .zero, samples: []),
                ]
            ),
            Self.host("b", inState: 0, estimate: ManagerStatusReplyTests.estimate),
            Self.host("c", watts: 1_234.5, capabilities: []),
        ]
        try expectRoundTrip(Self.report(hosts))
    }

    @Test func unknownCapabilityBitsAreKept() throws {
        let bits = AgentCapabilities(rawValue: 0x8000_0001)
        let payload = payloadBytes(Self.report([Self.host(capabilities: bits)]))
        guard case .groupManagerReport(let decoded) = try decodePayload(.groupManagerReport, payload) else {
            Issue.record("not a report")
            return
        }
        #expect(decoded.hosts.first?.capabilities.rawValue == 0x8000_0001)
    }

    @Test func theMostSamplesAListHoldsRoundTrip() throws {
        let samples = [ResourceAmounts](repeating: Self.samples[0], count: Int(UInt16.max))
        let vm = GroupManagerReport.VMSamples(uuid: Samples.debianUUID, samples: samples)
        let envelope = WireEnvelope(message: Self.report([Self.host(vms: [vm])]))
        // 65,535 × 32 bytes: past the default frame limit, so the decoder is given a larger one.
        #expect(try roundTrip(envelope, maximumPayloadLength: 4 << 20) == envelope)
    }

    @Test func typeByteAndName() {
        #expect(WireMessageType.groupManagerReport.rawValue == 0x50)
        #expect(WireMessageType.groupManagerReport.description == "GroupManagerReport")
    }

    @Test func aHostsStatusIsManagerStatusRepliesHostByteForByte() {
        let estimate = ManagerStatusReplyTests.estimate
        let status = ManagerStatusReplyTests.host(inState: 5, watts: 2.5, estimate: estimate)
        let report = payloadBytes(Self.report([Self.host(inState: 5, watts: 2.5, estimate: estimate)]))
        let reply = payloadBytes(.managerStatusReply(ManagerStatusReplyTests.reply(hosts: [status])))
        // The fixed host: 48 bytes, hostID "0f2c9e8a7b6d4c3b", hostname "kvm-07.lab", a report age and a usage.
        let hostSize = 48 + 16 + 10 + 8 + 20
        // After managerID "mgr-1", softwareVersion "0.1.0", uptime, timeout and the count in the reply; after
        // agentAddress "10.0.0.21:7710", maxHosts and the count in the report.
        let replyHost = reply.dropping(7 + 7 + 8 + 4 + 2).prefix(hostSize)
        let reportHost = report.dropping(16 + 4 + 2)
        #expect(hex(reportHost.prefix(hostSize)) == hex(replyHost))
        // Then, in place, what the reply sends in its extension area: millisecondsInState, watts, estimate.
        var estimateBytes = ByteBuffer()
        for value in [1.5, 3_221_225_472, 1_000, 250, 4, 8_589_934_592, 0, 0] as [Double] {
            estimateBytes.writeInteger(value.bitPattern)
        }
        estimateBytes.writeInteger(UInt16(2))
        #expect(
            hex(reportHost.dropping(hostSize).prefix(1 + 8 + 1 + 8 + 1 + 66))
                == "01" + "0000000000000005" + "01" + "4004000000000000" + "01" + hex(estimateBytes)
        )
    }

    @Test func minimalHostIsExactlyTheMinimumElementSize() throws {
        let payload = Self.minimalPayload()
        let decoded = try decodePayload(.groupManagerReport, payload)
        guard case .groupManagerReport(let report) = decoded else {
            Issue.record("decoded \(decoded.type)")
            return
        }
        #expect(report.agentAddress == "a:1")
        #expect(report.hosts.map(\.status.hostID) == ["h"])
        #expect(report.hosts.first?.vms == [])
        // 5 (agentAddress) + 4 + 2 (count) + 58 + 1 (the host, "h") + 2 (extension area).
        #expect(payload.readableBytes == 72)
        #expect(hex(payloadBytes(decoded)) == hex(payload))
    }

    @Test func emptyAddressOrHostIDIsRejected() {
        #expect(throws: WireError.invalidValue(message: .groupManagerReport, field: "agentAddress", value: 0)) {
            try decodePayload(.groupManagerReport, Self.minimalPayload(agentAddress: ""))
        }
        #expect(throws: WireError.invalidValue(message: .groupManagerReport, field: "hosts.hostID", value: 0)) {
            try decodePayload(.groupManagerReport, Self.minimalPayload(hostID: ""))
        }
    }

    @Test(arguments: [
        (16, UInt8(0), "hosts.state"),
        (16, 5, "hosts.state"),
        (17, 2, "hosts.connected"),
        (60, 2, "hosts.millisecondsInState"),
        (61, 0xFF, "hosts.watts"),
        (62, 2, "hosts.estimate"),
        (67, 2, "hosts.hasInventory"),
    ])
    func invalidEnumsAndBoolsAreRejected(offset: Int, value: UInt8, field: String) {
        #expect(
            throws: WireError.invalidValue(message: .groupManagerReport, field: field, value: UInt64(value))
        ) {
            try decodePayload(.groupManagerReport, Self.minimalPayload().settingByte(value, at: offset))
        }
    }

    @Test func absurdCountsAreRejected() {
        // Two hosts promised, one present: 59 + 2 bytes remain after the count, fewer than 2 × 58.
        #expect(
            throws: WireError.absurdCount(message: .groupManagerReport, field: "hosts", count: 2, remainingBytes: 61)
        ) {
            try decodePayload(.groupManagerReport, Self.minimalPayload(hostCount: 2))
        }
        // Two VMs promised, one present: 18 + 2 bytes remain, fewer than 2 × 18.
        #expect(
            throws: WireError.absurdCount(
                message: .groupManagerReport,
                field: "hosts.vms",
                count: 2,
                remainingBytes: 20
            )
        ) {
            try decodePayload(.groupManagerReport, Self.minimalPayload(vms: (2, 1, 0)))
        }
        // One sample promised, none present: only the extension area's 2 bytes remain.
        #expect(
            throws: WireError.absurdCount(
                message: .groupManagerReport,
                field: "hosts.vms.samples",
                count: 1,
                remainingBytes: 2
            )
        ) {
            try decodePayload(.groupManagerReport, Self.minimalPayload(vms: (1, 1, 1)))
        }
        #expect(
            throws: WireError.absurdCount(
                message: .groupManagerReport,
                field: "hosts.vms.samples",
                count: 65_535,
                remainingBytes: 2
            )
        ) {
            try decodePayload(.groupManagerReport, Self.minimalPayload(vms: (1, 1, .max)))
        }
    }

    @Test func everyPrefixIsRejected() {
        let payload = payloadBytes(Samples.goldenGroupManagerReport.message)
        for length in 0..<payload.readableBytes {
            #expect(throws: WireError.self, "prefix of \(length) bytes") {
                try decodePayload(.groupManagerReport, payload.prefix(length))
            }
        }
    }

    // MARK: newSamples

    /// Hosts `0..<count`, those in `new` with only their new samples.
    static func newSamplesReport(count: Int, new: Set<Int>, window: UInt16 = 15) -> GroupManagerReport {
        GroupManagerReport(
            agentAddress: "10.0.0.21:7710",
            hosts: (0..<count).map { index in
                var host = Self.host("h\(index)", vms: [GroupManagerReport.VMSamples(uuid: .zero, samples: [])])
                host.samplesAreNew = new.contains(index)
                return host
            },
            sampleWindow: window
        )
    }

    @Test(arguments: [(1, [0]), (8, [7]), (9, [0, 8]), (16, [1, 3, 5, 15]), (17, Array(0..<17))])
    func newSamplesRoundTripForAnyHostCount(count: Int, new: [Int]) throws {
        try expectRoundTrip(.groupManagerReport(Self.newSamplesReport(count: count, new: Set(new))))
    }

    @Test func aWindowWithNoNewSamplesRoundTripsAndNoWindowSendsNoField() throws {
        try expectRoundTrip(.groupManagerReport(Self.newSamplesReport(count: 3, new: [])))
        let payload = payloadBytes(.groupManagerReport(Self.newSamplesReport(count: 3, new: [], window: 0)))
        #expect(hex(payload).hasSuffix("0000"), "an empty extension area")
    }

    /// The payload of `newSamplesReport(count:new:)` with its newSamples field's value replaced by `value`.
    static func payload(count: Int, newSamplesValue value: [UInt8]) -> ByteBuffer {
        let plain = payloadBytes(.groupManagerReport(Self.newSamplesReport(count: count, new: [], window: 0)))
        var payload = plain.prefix(plain.readableBytes - 2)  // without its empty extension area
        payload.writeInteger(UInt16(1))
        payload.writeInteger(GroupManagerReport.ExtensionTag.newSamples)
        payload.writeInteger(UInt32(value.count))
        payload.writeBytes(value)
        return payload
    }

    @Test func aZeroWindowIsRejected() {
        #expect(
            throws: WireError.invalidValue(message: .groupManagerReport, field: "newSamples.sampleWindow", value: 0)
        ) {
            try decodePayload(.groupManagerReport, Self.payload(count: 3, newSamplesValue: [0, 0, 0b001]))
        }
    }

    @Test(arguments: [[UInt8](), [0, 15], [0, 15, 1, 0], [0]])
    func aBitmapOfAnotherLengthIsRejected(value: [UInt8]) {
        #expect(throws: WireError.self) {
            try decodePayload(.groupManagerReport, Self.payload(count: 3, newSamplesValue: value))
        }
    }

    @Test func aBitPastTheLastHostIsRejected() {
        #expect(
            throws: WireError.invalidValue(message: .groupManagerReport, field: "newSamples.hosts", value: 0b1000_0001)
        ) {
            try decodePayload(.groupManagerReport, Self.payload(count: 3, newSamplesValue: [0, 15, 0b1000_0001]))
        }
    }

    @Test func theBitsNameTheirHostsLeastSignificantFirst() throws {
        let payload = Self.payload(count: 10, newSamplesValue: [0, 4, 0b0000_0101, 0b0000_0010])
        guard case .groupManagerReport(let decoded) = try decodePayload(.groupManagerReport, payload) else {
            Issue.record("not a report")
            return
        }
        #expect(decoded.sampleWindow == 4)
        #expect(decoded.hosts.indices.filter { decoded.hosts[$0].samplesAreNew } == [0, 2, 9])
    }

    @Test func trailingBytesAreRejected() {
        var payload = payloadBytes(Samples.goldenGroupManagerReport.message)
        payload.writeInteger(UInt8(0))
        #expect(throws: WireError.trailingBytes(message: .groupManagerReport, count: 1)) {
            try decodePayload(.groupManagerReport, payload)
        }
    }

    // MARK: hypervisorProblems

    @Test func hypervisorProblemsRoundTripAndTravelUnderTagTwo() throws {
        var hosts = [Self.host("a"), Self.host("b")]
        hosts[1].status.hypervisorProblem = "down"
        hosts[0].samplesAreNew = true
        let report = GroupManagerReport(agentAddress: "10.0.0.21:7710", hosts: hosts, sampleWindow: 15)
        try expectRoundTrip(.groupManagerReport(report))
        let area = [
            "0002", "0000000a",  // tag hypervisorProblems, 10 bytes
            "0002",  // two hosts
            "00",  // a: answers
            "01", "0004", "646f776e",  // b: "down"
        ]
        #expect(hex(payloadBytes(.groupManagerReport(report))).hasSuffix(area.joined()))
        // An old decoder skips it: the hosts come without a problem.
        var payload = payloadBytes(.groupManagerReport(report))
        var fixed = try GroupManagerReport.decode(from: &payload)
        let fields = try payload.readWireExtensionArea(.groupManagerReport)
        #expect(fields.map(\.tag) == [0x0001, 0x0002])
        try fixed.apply(extensionField: fields[0])
        #expect(fixed.hosts.map(\.status.hypervisorProblem) == [nil, nil])
    }

    @Test func malformedHypervisorProblemsAreRejected() {
        let plain = payloadBytes(.groupManagerReport(GroupManagerReport(agentAddress: "a:1", hosts: [Self.host("a")])))
        func with(_ value: [UInt8]) -> ByteBuffer {
            var payload = plain.prefix(plain.readableBytes - 2)
            payload.writeInteger(UInt16(1))
            payload.writeInteger(GroupManagerReport.ExtensionTag.hypervisorProblems)
            payload.writeInteger(UInt32(value.count))
            payload.writeBytes(value)
            return payload
        }
        // Two entries for one host.
        #expect(
            throws: WireError.invalidValue(message: .groupManagerReport, field: "hypervisorProblems.count", value: 2)
        ) {
            try decodePayload(.groupManagerReport, with([0, 2, 0, 0]))
        }
        // A problem promised but cut short.
        #expect(throws: WireError.truncated(message: .groupManagerReport, field: "hypervisorProblems.problem")) {
            try decodePayload(.groupManagerReport, with([0, 1, 1, 0, 4, 0x67]))
        }
        // Bytes after the list.
        #expect(
            throws: WireError.invalidValue(message: .groupManagerReport, field: "hypervisorProblems.length", value: 4)
        ) {
            try decodePayload(.groupManagerReport, with([0, 1, 0, 0xEE]))
        }
    }
}
