import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing
import Wire

@Suite struct WireFrameDecoderTests {
    static func frame(_ bytes: ByteBuffer) -> WireFrame {
        let header = bytes.getSlice(at: bytes.readerIndex, length: 13)!
        return WireFrame(
            version: header.getInteger(at: header.readerIndex + 2)!,
            type: header.getInteger(at: header.readerIndex + 3)!,
            flags: WireFrameFlags(rawValue: header.getInteger(at: header.readerIndex + 4)!),
            requestID: header.getInteger(at: header.readerIndex + 5)!,
            payload: bytes.dropping(13)
        )
    }

    @Test func verifierAcceptsTheFixturesAndEdgeFrames() throws {
        var pairs: [(ByteBuffer, [WireFrame])] = []
        for (_, bytes) in try Fixture.all(in: "Fixtures") {
            pairs.append((bytes, [Self.frame(bytes)]))
        }
        // An empty payload, an unknown type with unknown flags, and two frames in one write.
        let empty = frameBytes(type: 0x30, requestID: 9, payload: ByteBuffer())
        pairs.append((empty, [WireFrame(version: 1, type: 0x30, requestID: 9, payload: ByteBuffer())]))
        let unknown = frameBytes(type: 0xEE, flags: 0xFC, payload: ByteBuffer(bytes: [1, 2, 3]))
        let unknownFrame = WireFrame(
            version: 1,
            type: 0xEE,
            flags: WireFrameFlags(rawValue: 0xFC),
            payload: ByteBuffer(bytes: [1, 2, 3])
        )
        pairs.append((unknown, [unknownFrame]))
        var both = try Fixture.bytes("heartbeat-response")
        both.writeImmutableBuffer(try Fixture.bytes("power-command-suspend"))
        pairs.append(
            (
                both,
                [
                    Self.frame(try Fixture.bytes("heartbeat-response")),
                    Self.frame(try Fixture.bytes("power-command-suspend")),
                ]
            )
        )
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) { WireFrameDecoder() }
    }

    @Test func frameOfExactlyTheMaximumIsAccepted() throws {
        let payload = ByteBuffer(repeating: 0xAB, count: 64)
        var bytes = frameBytes(type: 0x03, payload: payload)
        let frame = try WireFrameDecoder(maximumPayloadLength: 64).decodeFrame(buffer: &bytes)
        #expect(frame?.payload == payload)
        #expect(bytes.readableBytes == 0)
    }

    @Test func oversizeLengthFailsFromTheHeaderAlone() {
        // Only the 13 header bytes: the decoder must not wait for (or buffer) 1 MiB + 1 bytes.
        var header = frameBytes(type: 0x10, length: 1_048_577, payload: ByteBuffer())
        #expect(throws: WireError.frameTooLarge(length: 1_048_577, maximum: 1_048_576)) {
            try WireFrameDecoder().decodeFrame(buffer: &header)
        }
        var huge = frameBytes(type: 0x10, length: .max, payload: ByteBuffer())
        #expect(throws: WireError.frameTooLarge(length: .max, maximum: 1_048_576)) {
            try WireFrameDecoder().decodeFrame(buffer: &huge)
        }
    }

    @Test func lengthAboveACustomMaximumFails() {
        var bytes = frameBytes(type: 0x03, payload: ByteBuffer(repeating: 0, count: 65))
        #expect(throws: WireError.frameTooLarge(length: 65, maximum: 64)) {
            try WireFrameDecoder(maximumPayloadLength: 64).decodeFrame(buffer: &bytes)
        }
        var message = frameBytes(type: 0x03, payload: ByteBuffer(repeating: 0, count: 65))
        var decoder = WireMessageDecoder(maximumPayloadLength: 64)
        #expect(throws: WireError.frameTooLarge(length: 65, maximum: 64)) {
            try decoder.decode(buffer: &message)
        }
    }

    @Test func badMagicFailsAfterTwoBytes() throws {
        var http = ByteBuffer(string: "GE")
        #expect(throws: WireError.badMagic(0x4745)) {
            try WireFrameDecoder().decodeFrame(buffer: &http)
        }
        var one = ByteBuffer(bytes: [0x47])
        #expect(try WireFrameDecoder().decodeFrame(buffer: &one) == nil)
        var swapped = frameBytes(magic: 0x5054, type: 0x03, payload: ByteBuffer())
        #expect(throws: WireError.badMagic(0x5054)) {
            try WireFrameDecoder().decodeFrame(buffer: &swapped)
        }
    }

    @Test func unknownVersionFailsAfterThreeBytes() throws {
        for version: UInt8 in [0, 2, 0xFF] {
            var bytes = ByteBuffer(bytes: [0x54, 0x50, version])
            #expect(throws: WireError.unknownVersion(version, supported: 1...1)) {
                try WireFrameDecoder().decodeFrame(buffer: &bytes)
            }
        }
        var v2 = ByteBuffer(bytes: [0x54, 0x50, 2])
        #expect(try WireFrameDecoder(supportedVersions: 1...2).decodeFrame(buffer: &v2) == nil)
    }

    @Test func partialFrameLeavesTheBufferUntouched() throws {
        let fixture = try Fixture.bytes("monitoring-report-2vms")
        for length in 0..<fixture.readableBytes {
            var partial = fixture.prefix(length)
            #expect(try WireFrameDecoder().decodeFrame(buffer: &partial) == nil)
            #expect(partial.readableBytes == length, "reader index moved at \(length) bytes")
        }
    }

    @Test func decodeLastReportsATruncatedFrame() throws {
        var partial = try Fixture.bytes("heartbeat-response").prefix(20)
        var decoder = WireFrameDecoder()
        #expect(throws: WireError.truncatedFrame(bufferedBytes: 20)) {
            try decoder.decodeLast(buffer: &partial, seenEOF: true)
        }
        var empty = ByteBuffer()
        #expect(try decoder.decodeLast(buffer: &empty, seenEOF: true) == nil)
        // Whole frames before the cut are still delivered first.
        var stream = try Fixture.bytes("heartbeat-response")
        stream.writeImmutableBuffer(try Fixture.bytes("welcome-agent").prefix(5))
        #expect(
            try decoder.decodeLast(buffer: &stream, seenEOF: true)
                == Self.frame(try Fixture.bytes("heartbeat-response"))
        )
        #expect(throws: WireError.truncatedFrame(bufferedBytes: 5)) {
            try decoder.decodeLast(buffer: &stream, seenEOF: true)
        }
    }

    @Test func closeMidFrameSurfacesTruncatedFrameInAPipeline() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(WireFrameDecoder()))
        try channel.writeInbound(try Fixture.bytes("inventory-2vms").prefix(40))
        #expect(try channel.readInbound(as: WireFrame.self) == nil)
        #expect(throws: WireError.truncatedFrame(bufferedBytes: 40)) {
            _ = try channel.finish()
        }
    }

    @Test func garbageSurfacesThroughWriteInbound() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(WireFrameDecoder()))
        #expect(throws: WireError.badMagic(0x4745)) {
            try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\n"))
        }
        #expect(try channel.readInbound(as: WireFrame.self) == nil)
        _ = try? channel.finish()
    }

    @Test func encoderWritesTheFrameAsGiven() throws {
        let channel = EmbeddedChannel(handler: MessageToByteHandler(WireFrameEncoder()))
        let fixture = try Fixture.bytes("power-command-suspend")
        try channel.writeOutbound(Self.frame(fixture))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == fixture)
        #expect(try channel.finish().isClean)
    }
}
