import NIOCore
import Testing
import Wire

/// The rules of docs/protocol.md, "Evolution": what an old decoder does with what a newer peer may send.
@Suite struct EvolutionTests {
    static let heartbeat = WireMessage.heartbeat(Heartbeat(sequence: 43, timestampMilliseconds: 1_763_827_200_123))

    @Test func unknownExtensionTagIsSkipped() throws {
        var bytes = try Fixture.bytes("heartbeat-unknown-extension")
        var decoder = WireMessageDecoder()
        let envelope = try #require(try decoder.decode(buffer: &bytes))
        #expect(envelope.message == Self.heartbeat)
        #expect(bytes.readableBytes == 0)
        // The unknown flag bit (0x80) is kept, not an error.
        #expect(envelope.flags.rawValue == 0x80)
        #expect(!envelope.isResponse)
    }

    @Test func severalUnknownTagsIncludingEmptyOnesAreSkipped() throws {
        var payload = ByteBuffer()
        payload.writeMultipleIntegers(UInt64(43), Int64(1_763_827_200_123))
        payload.writeWireExtensionArea([
            WireExtensionField(tag: 1, value: ByteBuffer()),
            WireExtensionField(tag: 0xFFFF, value: ByteBuffer(repeating: 0xEE, count: 300)),
            WireExtensionField(tag: 1, value: ByteBuffer(string: "duplicate tags are a peer's business")),
        ])
        #expect(try decodePayload(.heartbeat, payload) == Self.heartbeat)
    }

    @Test func extensionAreaLayout() {
        var buffer = ByteBuffer()
        buffer.writeWireExtensionArea([WireExtensionField(tag: 0x7F01, value: ByteBuffer(string: "abc"))])
        #expect(hex(buffer) == "0001" + "7f01" + "00000003" + "616263")
    }

    @Test func extensionAreaIsReadAsSlices() throws {
        var buffer = ByteBuffer(bytes: [0, 2, 0, 9, 0, 0, 0, 1, 0x41, 0x12, 0x34, 0, 0, 0, 0])
        let fields = try buffer.readWireExtensionArea(.heartbeat)
        #expect(
            fields == [
                WireExtensionField(tag: 9, value: ByteBuffer(bytes: [0x41])),
                WireExtensionField(tag: 0x1234, value: ByteBuffer()),
            ]
        )
        #expect(buffer.readableBytes == 0)
    }

    @Test func truncatedExtensionValueFails() throws {
        // The fixture's field claims 3 bytes; cut it to 2.
        let payload = try Fixture.bytes("heartbeat-unknown-extension").dropping(13)
        #expect(throws: WireError.truncated(message: .heartbeat, field: "extension.value")) {
            try decodePayload(.heartbeat, payload.prefix(26))
        }
    }

    @Test func absurdExtensionCountFails() throws {
        let payload = try Fixture.bytes("heartbeat-unknown-extension").dropping(13).settingByte(0x40, at: 16)
        #expect(
            throws: WireError.absurdCount(message: .heartbeat, field: "extensions", count: 0x4001, remainingBytes: 9)
        ) {
            try decodePayload(.heartbeat, payload)
        }
    }

    @Test func unknownFlagBitsDecodeAndAreKept() throws {
        for bits: UInt8 in [0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xFC] {
            var bytes = try Fixture.bytes("power-command-suspend").settingByte(bits, at: 4)
            var decoder = WireMessageDecoder()
            let envelope = try #require(try decoder.decode(buffer: &bytes))
            #expect(envelope.message == Samples.goldenPowerCommand.message)
            #expect(envelope.flags.rawValue == bits)
        }
    }

    @Test func aNewerVersionInTheHeaderIsRefusedByName() throws {
        var bytes = try Fixture.bytes("heartbeat-response").settingByte(2, at: 2)
        var decoder = WireMessageDecoder()
        #expect(throws: WireError.unknownVersion(2, supported: WireVersion.supported)) {
            try decoder.decode(buffer: &bytes)
        }
    }

    @Test func messageTypesStayInTheirRanges() {
        for type in WireMessageType.allCases {
            let range: ClosedRange<UInt8> =
                switch type {
                case .hello, .welcome, .heartbeat, .error: 0x01...0x0F
                case .monitoringReport, .inventory, .commandResult, .powerNotice, .migrationProgress,
                    .hostAssignmentRequest, .hypervisorStatus:
                    0x10...0x1F
                case .vmCommand, .powerCommand, .migrationCancel, .hostAssignment: 0x20...0x2F
                case .statusRequest, .statusReply, .samplesRequest, .samplesReply, .managerStatusRequest,
                    .managerStatusReply, .leaderQuery, .leaderReply:
                    0x30...0x3F
                case .clusterRequest, .clusterReply, .taskStatus, .energyRequest, .energyReply, .hostPowerRequest,
                    .consolidationReply, .catalogReply, .eventSubscription, .eventNotice:
                    0x40...0x4F
                case .groupManagerReport, .groupManagerEvent, .hostOrder: 0x50...0x5F
                }
            #expect(range.contains(type.rawValue), "\(type)")
        }
    }
}

/// Version negotiation for the handshake (docs/protocol.md, "Handshake").
@Suite struct WireVersionTests {
    @Test func thisBuildSpeaksVersionOne() {
        #expect(WireVersion.v1 == 1)
        #expect(WireVersion.supported == 1...1)
        #expect(WireVersion.current == 1)
    }

    @Test(
        arguments: [
            ([1], [1], 1),
            ([1, 2, 3], [2, 3, 4], 3),
            ([3, 1], [1, 3], 3),
            ([1, 2], [2, 2, 2], 2),
        ] as [([UInt8], [UInt8], UInt8)]
    )
    func picksTheHighestCommonVersion(local: [UInt8], remote: [UInt8], expected: UInt8) {
        #expect(WireVersion.negotiate(local: local, remote: remote) == expected)
        #expect(WireVersion.negotiate(local: remote, remote: local) == expected)
    }

    @Test func noCommonVersionIsNil() {
        #expect(WireVersion.negotiate(local: [1], remote: [2, 3]) == nil)
        #expect(WireVersion.negotiate(local: [1], remote: []) == nil)
    }
}
