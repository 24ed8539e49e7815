import NIOCore
import Testing
import Wire

@Suite struct MonitoringReportTests {
    static func vm(slot: UInt16, state: VMState = .running) -> MonitoringReport.VMSample {
        MonitoringReport.VMSample(
            slot: slot,
            state: state,
            cpuCoresInUse: 0.731 * Float(slot % 7),
            memoryInUseKiB: 1_048_576 + UInt32(slot) * 4093,
            networkRxBytesPerSecond: 12_034.56 + Float(slot),
            networkTxBytesPerSecond: 3_401.9,
            diskReadBytesPerSecond: 81_920.5,
            diskWriteBytesPerSecond: 409.625
        )
    }

    static func report(vms: [MonitoringReport.VMSample]) -> MonitoringReport {
        MonitoringReport(timestampMilliseconds: 1_763_827_205_000, host: Samples.host, vms: vms)
    }

    @Test func goldenReportRoundTrips() throws {
        try expectRoundTrip(Samples.goldenMonitoringReport.message)
    }

    @Test func emptyAndFullHostReportsRoundTrip() throws {
        try expectRoundTrip(.monitoringReport(Self.report(vms: [])))
        try expectRoundTrip(.monitoringReport(Self.report(vms: (0..<32).map { Self.vm(slot: $0) })))
    }

    @Test(arguments: VMState.allCases)
    func everyVMStateRoundTrips(state: VMState) throws {
        try expectRoundTrip(.monitoringReport(Self.report(vms: [Self.vm(slot: 9, state: state)])))
    }

    @Test func floatEdgeValuesKeepTheirBits() throws {
        let floats: [Float] = [.infinity, -.infinity, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 1e-7]
        let vms = floats.enumerated().map { index, value in
            MonitoringReport.VMSample(
                slot: UInt16(index),
                state: .running,
                cpuCoresInUse: value,
                memoryInUseKiB: .max,
                networkRxBytesPerSecond: value,
                networkTxBytesPerSecond: -value,
                diskReadBytesPerSecond: value,
                diskWriteBytesPerSecond: value
            )
        }
        let report = MonitoringReport(timestampMilliseconds: .min, host: Samples.host, vms: vms)
        try expectRoundTrip(.monitoringReport(report))
        guard
            case .monitoringReport(let decoded) = try decodePayload(
                .monitoringReport,
                payloadBytes(.monitoringReport(report))
            )
        else {
            Issue.record("not a report")
            return
        }
        #expect(decoded.vms[2].cpuCoresInUse.sign == .minus, "-0.0 lost its sign")
    }

    @Test func nanSurvivesBitForBit() throws {
        var sample = Self.vm(slot: 1)
        sample.diskReadBytesPerSecond = Float(bitPattern: 0xFFFE_FFFF)
        let payload = payloadBytes(.monitoringReport(Self.report(vms: [sample])))
        let decoded = try decodePayload(.monitoringReport, payload)
        #expect(payloadBytes(decoded) == payload)
    }

    @Test func aVMCosts27Bytes() {
        let empty = payloadBytes(.monitoringReport(Self.report(vms: []))).readableBytes
        let one = payloadBytes(.monitoringReport(Self.report(vms: [Self.vm(slot: 0)]))).readableBytes
        #expect(empty == 8 + 20 + 2 + 2)
        #expect(one - empty == MonitoringReport.VMSample.wireSize)
        #expect(MonitoringReport.VMSample.wireSize == 27)
    }

    @Test func maximumListLengthRoundTripsUnderALargerMaximum() throws {
        let vms = (0..<UInt16.max).map { Self.vm(slot: $0) }
        let envelope = WireEnvelope(message: .monitoringReport(Self.report(vms: vms)))
        // 65535 × 27 bytes is more than the default 1 MiB maximum.
        #expect(throws: WireError.frameTooLarge(length: 1_769_477, maximum: 1 << 20)) {
            try roundTrip(envelope)
        }
        #expect(try roundTrip(envelope, maximumPayloadLength: 2 << 20) == envelope)
    }

    @Test func absurdVMCountIsRejectedBeforeAllocating() throws {
        // 65535 VMs promised by a 32-byte payload: the count is checked against the 2 bytes left, so no array of
        // 65535 elements is reserved, and nothing after the count was read.
        var payload = try Fixture.bytes("monitoring-report-2vms").dropping(13).prefix(28)
        payload.writeInteger(UInt16.max)
        payload.writeBytes([0, 0])
        #expect(
            throws: WireError.absurdCount(message: .monitoringReport, field: "vms", count: 65_535, remainingBytes: 2)
        ) {
            try decodePayload(.monitoringReport, payload)
        }
    }

    @Test func absurdVMCountFailsTheFrameInThePipelineDecoder() throws {
        var payload = ByteBuffer()
        payload.writeInteger(Int64(1))
        payload.writeBytes([UInt8](repeating: 0, count: 20))
        payload.writeInteger(UInt16.max)
        var frame = frameBytes(type: 0x10, payload: payload)
        var decoder = WireMessageDecoder()
        #expect(
            throws: WireError.absurdCount(message: .monitoringReport, field: "vms", count: 65_535, remainingBytes: 0)
        ) {
            try decoder.decode(buffer: &frame)
        }
    }

    @Test func invalidVMStateIsRejected() throws {
        // Payload offset 32 is vms[0].state in Fixtures/monitoring-report-2vms.hex (frame offset 45).
        let payload = try Fixture.bytes("monitoring-report-2vms").dropping(13)
        for state: UInt8 in [8, 0x80, 0xFF] {
            #expect(
                throws: WireError.invalidValue(message: .monitoringReport, field: "vms.state", value: UInt64(state))
            ) {
                try decodePayload(.monitoringReport, payload.settingByte(state, at: 32))
            }
        }
    }

    @Test func truncatedHostIsRejected() throws {
        let payload = try Fixture.bytes("monitoring-report-2vms").dropping(13)
        #expect(throws: WireError.truncated(message: .monitoringReport, field: "timestamp")) {
            try decodePayload(.monitoringReport, payload.prefix(7))
        }
        #expect(throws: WireError.truncated(message: .monitoringReport, field: "host")) {
            try decodePayload(.monitoringReport, payload.prefix(27))
        }
    }

    @Test func vmCountOneShortOfItsBytesIsAbsurd() throws {
        // Two VMs promised but the second is cut: 27 + 26 bytes remain (extension area dropped).
        let payload = try Fixture.bytes("monitoring-report-2vms").dropping(13)
        #expect(
            throws: WireError.absurdCount(message: .monitoringReport, field: "vms", count: 2, remainingBytes: 53)
        ) {
            try decodePayload(.monitoringReport, payload.prefix(83))
        }
    }
}
