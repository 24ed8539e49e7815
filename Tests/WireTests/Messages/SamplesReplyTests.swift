import NIOCore
import Testing
import Wire

@Suite struct SamplesReplyTests {
    static func sample(_ index: Int) -> VMMetrics {
        VMMetrics(
            timestampMilliseconds: 1_763_827_200_000 + Int64(index) * 5000,
            cpuCoresInUse: 0.37 + Double(index) / 97,
            memoryInUseBytes: 204_800_000 + UInt64(index) * 4096,
            networkRxBytesPerSecond: 12_800.5 * Double(index),
            networkTxBytesPerSecond: 640.25,
            diskReadBytesPerSecond: 0,
            diskWriteBytesPerSecond: 4096.125
        )
    }

    @Test func fullRingRoundTrips() throws {
        let reply = SamplesReply(
            vmName: "debian1",
            uuid: Samples.debianUUID,
            capacity: 60,
            samples: (0..<60).map(Self.sample)
        )
        try expectRoundTrip(.samplesReply(reply), requestID: 12, flags: .response)
    }

    @Test func emptyRingRoundTrips() throws {
        try expectRoundTrip(.samplesReply(SamplesReply(vmName: "", uuid: .zero, capacity: 0, samples: [])))
    }

    @Test func edgeValuesRoundTrip() throws {
        let extreme = VMMetrics(
            timestampMilliseconds: .min,
            cpuCoresInUse: .greatestFiniteMagnitude,
            memoryInUseBytes: .max,
            networkRxBytesPerSecond: .leastNonzeroMagnitude,
            networkTxBytesPerSecond: -.infinity,
            diskReadBytesPerSecond: -0.0,
            diskWriteBytesPerSecond: .pi
        )
        let reply = SamplesReply(
            vmName: Samples.maxString,
            uuid: WireUUID(high: .max, low: 0),
            capacity: .max,
            samples: [extreme]
        )
        try expectRoundTrip(.samplesReply(reply))
    }

    @Test func absurdSampleCountIsRejected() throws {
        var payload = ByteBuffer()
        payload.writeInteger(UInt16(0))  // vmName ""
        payload.writeBytes(Samples.debianUUID.bytes)
        payload.writeInteger(UInt16(60))  // capacity
        payload.writeInteger(UInt16(2))  // 2 samples promised, 1 present
        payload.writeBytes([UInt8](repeating: 0, count: 56 + 2))
        #expect(
            throws: WireError.absurdCount(message: .samplesReply, field: "samples", count: 2, remainingBytes: 58)
        ) {
            try decodePayload(.samplesReply, payload)
        }
    }

    @Test func truncatedUUIDIsRejected() {
        #expect(throws: WireError.truncated(message: .samplesReply, field: "uuid")) {
            try decodePayload(.samplesReply, ByteBuffer(bytes: [0, 0] + [UInt8](repeating: 0x11, count: 15)))
        }
    }
}
