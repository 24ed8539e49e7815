import NIOCore
import Testing
import Wire

/// VMMetrics, carried by StatusReply and SamplesReply.
@Suite struct VMMetricsTests {
    @Test func layoutIs56BigEndianBytes() throws {
        // Frame offsets 158..<214 of Fixtures/status-reply.hex hold vms[0].latest (payload offset 145).
        let payload = try Fixture.bytes("status-reply").dropping(13)
        #expect(
            hex(payload.dropping(145).prefix(VMMetrics.wireSize))
                == "0000019aac4b2c18" + "3fd7ae147ae147ae" + "000000000c350000" + "40c9004000000000"
                + "4084020000000000" + "0000000000000000" + "40b0000000000000"
        )
        #expect(VMMetrics.wireSize == 56)
    }

    @Test func eachSampleAdds56BytesToASamplesReply() {
        let empty = SamplesReply(vmName: "a", uuid: .zero, capacity: 1, samples: [])
        var one = empty
        one.samples = [SamplesReplyTests.sample(1)]
        let size = payloadBytes(.samplesReply(one)).readableBytes - payloadBytes(.samplesReply(empty)).readableBytes
        #expect(size == VMMetrics.wireSize)
    }

    @Test func doublesKeepEveryBit() throws {
        let metrics = VMMetrics(
            timestampMilliseconds: -1,
            cpuCoresInUse: .nan,
            memoryInUseBytes: .max,
            networkRxBytesPerSecond: .ulpOfOne,
            networkTxBytesPerSecond: -.leastNormalMagnitude,
            diskReadBytesPerSecond: .infinity,
            diskWriteBytesPerSecond: 1.0 / 3
        )
        let message = WireMessage.samplesReply(SamplesReply(vmName: "x", uuid: .zero, capacity: 1, samples: [metrics]))
        guard case .samplesReply(let reply) = try decodePayload(.samplesReply, payloadBytes(message)) else {
            Issue.record("not a samples reply")
            return
        }
        let decoded = try #require(reply.samples.first)
        #expect(decoded.cpuCoresInUse.isNaN)
        #expect(decoded.networkRxBytesPerSecond == .ulpOfOne)
        #expect(decoded.networkTxBytesPerSecond == -.leastNormalMagnitude)
        #expect(decoded.diskWriteBytesPerSecond == 1.0 / 3)
        #expect(decoded.memoryInUseBytes == .max)
    }
}
