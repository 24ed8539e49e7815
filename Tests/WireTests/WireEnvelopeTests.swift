import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing
import Wire

/// WireEnvelope, WireMessageDecoder and WireMessageEncoder: frames to messages and back, alone and in a pipeline.
@Suite struct WireEnvelopeTests {
    static let ignorableUnknown = frameBytes(type: 0x7E, flags: 0x02, payload: ByteBuffer(bytes: [0, 0, 0xCA, 0xFE]))

    @Test func verifierAcceptsEveryGoldenMessage() throws {
        var pairs: [(ByteBuffer, [WireEnvelope])] = try GoldenFixtureTests.golden.map { name, envelope in
            (try Fixture.bytes(name), [envelope])
        }
        // A frame a receiver drops produces nothing, alone or in front of a real message.
        pairs.append((Self.ignorableUnknown, []))
        var droppedThenHeartbeat = Self.ignorableUnknown
        droppedThenHeartbeat.writeImmutableBuffer(try Fixture.bytes("heartbeat-response"))
        pairs.append((droppedThenHeartbeat, [Samples.goldenHeartbeat]))
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) { WireMessageDecoder() }
    }

    @Test func unknownTypeWithoutIgnorableFails() {
        var bytes = frameBytes(type: 0x7E, payload: ByteBuffer(bytes: [0, 0]))
        var decoder = WireMessageDecoder()
        #expect(throws: WireError.unknownMessageType(0x7E)) {
            try decoder.decode(buffer: &bytes)
        }
        #expect(throws: WireError.unknownMessageType(0x7E)) {
            try WireEnvelope(frame: WireFrame(version: 1, type: 0x7E, payload: ByteBuffer()))
        }
    }

    @Test func unknownTypeWithIgnorableIsSkipped() throws {
        #expect(
            try WireEnvelope(frame: WireFrame(version: 1, type: 0x7E, flags: .ignorable, payload: ByteBuffer())) == nil
        )
        var stream = Self.ignorableUnknown
        stream.writeImmutableBuffer(Self.ignorableUnknown)
        stream.writeImmutableBuffer(try Fixture.bytes("heartbeat-response"))
        var decoder = WireMessageDecoder()
        #expect(try decoder.decode(buffer: &stream) == Samples.goldenHeartbeat)
        #expect(stream.readableBytes == 0)
        // Only ignorable frames: consumed, nothing delivered, nothing left for decodeLast to call truncated.
        var onlyDropped = Self.ignorableUnknown
        #expect(try decoder.decode(buffer: &onlyDropped) == nil)
        #expect(try decoder.decodeLast(buffer: &onlyDropped, seenEOF: true) == nil)
    }

    @Test func knownTypeMarkedIgnorableIsStillDecodedAndValidated() throws {
        var bytes = try Fixture.bytes("heartbeat-response").settingByte(0x03, at: 4)
        var decoder = WireMessageDecoder()
        let envelope = try #require(try decoder.decode(buffer: &bytes))
        #expect(envelope.flags == [.response, .ignorable])
        var broken = frameBytes(type: 0x03, flags: 0x02, payload: ByteBuffer(bytes: [1, 2, 3]))
        #expect(throws: WireError.truncated(message: .heartbeat, field: "sequence/timestamp")) {
            try decoder.decode(buffer: &broken)
        }
    }

    @Test func trailingBytesInAFrameFail() throws {
        var payload = try Fixture.bytes("power-command-suspend").dropping(13)
        payload.writeInteger(UInt8(0))
        var bytes = frameBytes(type: 0x21, payload: payload)
        var decoder = WireMessageDecoder()
        #expect(throws: WireError.trailingBytes(message: .powerCommand, count: 1)) {
            try decoder.decode(buffer: &bytes)
        }
    }

    @Test func truncatedFieldInsideACompleteFrameFails() throws {
        // The frame is whole, but its payload ends in the middle of the Welcome's node name.
        let payload = try Fixture.bytes("welcome-agent").dropping(13).prefix(12)
        var bytes = frameBytes(type: 0x02, payload: payload)
        var decoder = WireMessageDecoder()
        #expect(throws: WireError.truncated(message: .welcome, field: "nodeName")) {
            try decoder.decode(buffer: &bytes)
        }
    }

    @Test func decodeLastOnAMessageStreamReportsTruncation() throws {
        var stream = try Fixture.bytes("command-result-error")
        stream.writeImmutableBuffer(try Fixture.bytes("vmcommand-migrate").prefix(30))
        var decoder = WireMessageDecoder()
        #expect(try decoder.decodeLast(buffer: &stream, seenEOF: true) == Samples.goldenCommandResultError)
        #expect(throws: WireError.truncatedFrame(bufferedBytes: 30)) {
            try decoder.decodeLast(buffer: &stream, seenEOF: true)
        }
    }

    @Test(
        arguments: [
            ("bad magic", ByteBuffer(string: "SSH-2.0-OpenSSH_9.2\r\n"), WireError.badMagic(0x5353)),
            (
                "unknown version", ByteBuffer(bytes: [0x54, 0x50, 0x02, 0x03]),
                WireError.unknownVersion(2, supported: 1...1)
            ),
            (
                "oversize", frameBytes(type: 0x10, length: 2 << 20, payload: ByteBuffer()),
                WireError.frameTooLarge(length: 2 << 20, maximum: 1 << 20)
            ),
            (
                "unknown type", frameBytes(type: 0x99, payload: ByteBuffer(bytes: [0, 0])),
                WireError.unknownMessageType(0x99)
            ),
            (
                "invalid enum", frameBytes(type: 0x21, payload: ByteBuffer(bytes: [9, 0, 0, 0, 10, 0, 0])),
                WireError.invalidValue(message: .powerCommand, field: "action", value: 9)
            ),
            (
                "invalid UTF-8", frameBytes(type: 0x32, payload: ByteBuffer(bytes: [0, 1, 0xC3, 0, 0, 0, 0])),
                WireError.invalidUTF8(message: .samplesRequest, field: "vmName")
            ),
        ] as [(String, ByteBuffer, WireError)]
    )
    func pipelineSurfacesTheErrorAndSurvives(name: String, bytes: ByteBuffer, expected: WireError) throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(WireMessageDecoder()))
        // A good frame first: it is delivered before the bad one fails.
        var input = try Fixture.bytes("heartbeat-response")
        input.writeImmutableBuffer(bytes)
        #expect(throws: expected, "\(name)") {
            try channel.writeInbound(input)
        }
        #expect(try channel.readInbound(as: WireEnvelope.self) == Samples.goldenHeartbeat)
        #expect(try channel.readInbound(as: WireEnvelope.self) == nil)
        // More bytes after the error are refused without a crash, naming the original error.
        do {
            try channel.writeInbound(try Fixture.bytes("power-command-suspend"))
            Issue.record("data after an error was accepted")
        } catch ByteToMessageDecoderError.dataReceivedInErrorState(let error as WireError, _) {
            #expect(error == expected)
        }
        #expect(try channel.readInbound(as: WireEnvelope.self) == nil)
        _ = try? channel.finish()
    }

    @Test func closeMidFrameSurfacesTruncatedFrame() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(WireMessageDecoder()))
        let bytes = try Fixture.bytes("status-reply")
        // Drip-feed all but the last byte, then close.
        for index in 0..<(bytes.readableBytes - 1) {
            try channel.writeInbound(bytes.getSlice(at: bytes.readerIndex + index, length: 1)!)
        }
        #expect(try channel.readInbound(as: WireEnvelope.self) == nil)
        #expect(throws: WireError.truncatedFrame(bufferedBytes: bytes.readableBytes - 1)) {
            _ = try channel.finish()
        }
    }

    @Test func encoderInAPipelineWritesTheGoldenBytes() throws {
        let channel = EmbeddedChannel(handlers: [
            MessageToByteHandler(WireMessageEncoder()), ByteToMessageHandler(WireMessageDecoder()),
        ])
        try channel.writeOutbound(Samples.goldenMigrate)
        let written = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(written == (try Fixture.bytes("vmcommand-migrate")))
        try channel.writeInbound(written)
        #expect(try channel.readInbound(as: WireEnvelope.self) == Samples.goldenMigrate)
        #expect(try channel.finish().isClean)
    }

    @Test func envelopeDefaultsAndResponseFlag() {
        let envelope = WireEnvelope(message: .statusRequest(StatusRequest()))
        #expect(envelope.version == WireVersion.current)
        #expect(envelope.requestID == 0)
        #expect(!envelope.isResponse)
        #expect(WireEnvelope(flags: [.response, .ignorable], message: envelope.message).isResponse)
    }

    @Test func messageTypeMatchesEveryCase() {
        let messages: [WireMessage] =
            GoldenFixtureTests.golden.map(\.1.message) + [
                .statusRequest(StatusRequest()),
                .powerNotice(.goingDown(.suspendToRam, reason: "agentctl")),
                .samplesRequest(SamplesRequest(vmName: "a")),
                .samplesReply(SamplesReply(vmName: "a", uuid: .zero, capacity: 0, samples: [])),
                .managerStatusRequest(ManagerStatusRequest()),
                .managerStatusReply(
                    ManagerStatusReply(
                        managerID: "m",
                        softwareVersion: "0",
                        uptimeSeconds: 0,
                        heartbeatTimeoutMilliseconds: 0,
                        hosts: []
                    )
                ),
                .clusterRequest(.list),
                .clusterReply(ClusterReply(clusters: [])),
                .taskStatus(
                    TaskStatus(
                        id: "t",
                        kind: "start",
                        cluster: "c",
                        state: .pending,
                        message: "",
                        createdAtUnixMilliseconds: 0,
                        updatedAtUnixMilliseconds: 0,
                        outcomes: []
                    )
                ),
                .energyRequest(EnergyRequest()),
                .energyReply(EnergyReply(millisecondsMeasured: 0, hosts: [])),
                .hostPowerRequest(.wake("h")),
                .migrationProgress(
                    MigrationProgress(vmName: "v", destinationURI: "d", phase: .copying, elapsedMilliseconds: 0)
                ),
                .migrationCancel(MigrationCancel(vmName: "v")),
            ]
        #expect(Set(messages.map(\.type)) == Set(WireMessageType.allCases))
    }
}
