import NIOCore
import Testing
import Wire

@Suite struct PowerNoticeTests {
    @Test(arguments: PowerCommand.Action.allCases)
    func goingDownRoundTripsForEveryAction(action: PowerCommand.Action) throws {
        try expectRoundTrip(.powerNotice(.goingDown(action, reason: "manager order")))
    }

    @Test func resumedAndEdgeReasonsRoundTrip() throws {
        try expectRoundTrip(.powerNotice(.resumed(reason: "system resume")))
        try expectRoundTrip(.powerNotice(.goingDown(.shutdown, reason: "")))
        try expectRoundTrip(.powerNotice(.goingDown(.suspendToRam, reason: "système en veille ✓")))
        #expect(PowerNotice.resumed(reason: "x").action == nil)
    }

    @Test func typeByteAndName() {
        #expect(WireMessageType.powerNotice.rawValue == 0x13)
        #expect(WireMessageType.powerNotice.description == "PowerNotice")
        #expect(PowerNotice.Phase.allCases.map(\.rawValue) == [1, 2])
    }

    @Test func layoutIsPhaseActionReason() {
        #expect(
            hex(payloadBytes(.powerNotice(.goingDown(.suspendToDisk, reason: "ab"))))
                == "01" + "02" + "0002" + "6162" + "0000"
        )
        #expect(hex(payloadBytes(.powerNotice(.resumed(reason: "")))) == "02" + "00" + "0000" + "0000")
    }

    @Test func aLongReasonIsCutAtAScalarBoundary() throws {
        // 200 two-byte scalars: 400 bytes, cut to 128 scalars (256 bytes).
        let notice = PowerNotice.goingDown(.suspendToRam, reason: String(repeating: "é", count: 200))
        #expect(notice.reason.utf8.count == PowerNotice.maximumReasonBytes)
        #expect(notice.reason == String(repeating: "é", count: 128))
        try expectRoundTrip(.powerNotice(notice))
    }

    @Test(arguments: [UInt8(0), 3, 0xFF])
    func unknownPhaseIsRejected(phase: UInt8) {
        #expect(throws: WireError.invalidValue(message: .powerNotice, field: "phase", value: UInt64(phase))) {
            try decodePayload(.powerNotice, ByteBuffer(bytes: [phase, 1, 0, 0, 0, 0]))
        }
    }

    @Test(arguments: [UInt8(5), 0x80, 0xFF])
    func unknownActionIsRejected(action: UInt8) {
        #expect(throws: WireError.invalidValue(message: .powerNotice, field: "action", value: UInt64(action))) {
            try decodePayload(.powerNotice, ByteBuffer(bytes: [1, action, 0, 0, 0, 0]))
        }
    }

    @Test func goingDownWithoutAnActionIsRejected() {
        #expect(throws: WireError.invalidValue(message: .powerNotice, field: "action", value: 0)) {
            try decodePayload(.powerNotice, ByteBuffer(bytes: [1, 0, 0, 0, 0, 0]))
        }
    }

    @Test func anOverlongReasonIsRejected() {
        var payload = ByteBuffer(bytes: [1, 1])
        payload.writeInteger(UInt16(257))
        payload.writeRepeatingByte(0x61, count: 257)
        payload.writeInteger(UInt16(0))
        #expect(throws: WireError.invalidValue(message: .powerNotice, field: "reason.length", value: 257)) {
            try decodePayload(.powerNotice, payload)
        }
    }

    @Test func truncatedInputIsRejectedNamingTheField() {
        #expect(throws: WireError.truncated(message: .powerNotice, field: "phase")) {
            try decodePayload(.powerNotice, ByteBuffer())
        }
        #expect(throws: WireError.truncated(message: .powerNotice, field: "action")) {
            try decodePayload(.powerNotice, ByteBuffer(bytes: [1]))
        }
        #expect(throws: WireError.truncated(message: .powerNotice, field: "reason")) {
            try decodePayload(.powerNotice, ByteBuffer(bytes: [1, 1, 0, 5, 0x61]))
        }
    }

    @Test func invalidUTF8ReasonIsRejected() {
        #expect(throws: WireError.invalidUTF8(message: .powerNotice, field: "reason")) {
            try decodePayload(.powerNotice, ByteBuffer(bytes: [2, 0, 0, 3, 0xED, 0xA0, 0x80, 0, 0]))
        }
    }
}
