import NIOCore
import Testing
import Wire

@Suite struct HostPowerRequestTests {
    @Test func wakeRoundTrips() throws {
        try expectRoundTrip(.hostPowerRequest(.wake("0f2c9e8a7b6d4c3b")), requestID: 21)
        try expectRoundTrip(.hostPowerRequest(.wake(Samples.unicodeName)))
        try expectRoundTrip(.hostPowerRequest(.wake("")))
    }

    @Test(arguments: [nil] + PowerCommand.Action.allCases.map(Optional.some))
    func sleepRoundTripsWithEveryAction(action: PowerCommand.Action?) throws {
        try expectRoundTrip(.hostPowerRequest(.sleep("host-2", action: action)))
    }

    @Test func typeByteAndName() {
        #expect(WireMessageType.hostPowerRequest.rawValue == 0x45)
        #expect(WireMessageType.hostPowerRequest.description == "HostPowerRequest")
        #expect(HostPowerRequest.Operation.allCases.map(\.rawValue) == [1, 2])
    }

    @Test func layoutIsOperationHostAction() {
        #expect(hex(payloadBytes(.hostPowerRequest(.wake("ab")))) == "01" + "0002" + "6162" + "00" + "0000")
        #expect(
            hex(payloadBytes(.hostPowerRequest(.sleep("ab", action: .suspendToDisk))))
                == "02" + "0002" + "6162" + "02" + "0000"
        )
        #expect(hex(payloadBytes(.hostPowerRequest(.sleep("", action: nil)))) == "02" + "0000" + "00" + "0000")
    }

    @Test(arguments: [UInt8(0), 3, 0xFF])
    func unknownOperationIsRejected(operation: UInt8) {
        #expect(
            throws: WireError.invalidValue(message: .hostPowerRequest, field: "operation", value: UInt64(operation))
        ) {
            try decodePayload(.hostPowerRequest, ByteBuffer(bytes: [operation, 0, 0, 0, 0, 0]))
        }
    }

    @Test(arguments: [UInt8(5), 0x80, 0xFF])
    func unknownActionIsRejected(action: UInt8) {
        #expect(throws: WireError.invalidValue(message: .hostPowerRequest, field: "action", value: UInt64(action))) {
            try decodePayload(.hostPowerRequest, ByteBuffer(bytes: [2, 0, 0, action, 0, 0]))
        }
    }

    @Test(arguments: PowerCommand.Action.allCases)
    func aWakeWithAnActionIsRejected(action: PowerCommand.Action) {
        #expect(
            throws: WireError.invalidValue(message: .hostPowerRequest, field: "action", value: UInt64(action.rawValue))
        ) {
            try decodePayload(.hostPowerRequest, ByteBuffer(bytes: [1, 0, 0, action.rawValue, 0, 0]))
        }
    }

    @Test func truncatedInputIsRejectedNamingTheField() {
        #expect(throws: WireError.truncated(message: .hostPowerRequest, field: "operation")) {
            try decodePayload(.hostPowerRequest, ByteBuffer())
        }
        #expect(throws: WireError.truncated(message: .hostPowerRequest, field: "hostID")) {
            try decodePayload(.hostPowerRequest, ByteBuffer(bytes: [1, 0, 3, 0x61]))
        }
        #expect(throws: WireError.truncated(message: .hostPowerRequest, field: "action")) {
            try decodePayload(.hostPowerRequest, ByteBuffer(bytes: [1, 0, 1, 0x61]))
        }
        #expect(throws: WireError.truncated(message: .hostPowerRequest, field: "extensions")) {
            try decodePayload(.hostPowerRequest, ByteBuffer(bytes: [1, 0, 1, 0x61, 0]))
        }
    }

    @Test func everyTruncationIsRejected() {
        let payload = payloadBytes(.hostPowerRequest(.sleep("host-2", action: .shutdown)))
        for length in 0..<payload.readableBytes {
            #expect(throws: WireError.self, "prefix of \(length) bytes") {
                try decodePayload(.hostPowerRequest, payload.prefix(length))
            }
        }
    }

    @Test func trailingBytesAreRejected() {
        #expect(throws: WireError.trailingBytes(message: .hostPowerRequest, count: 2)) {
            try decodePayload(.hostPowerRequest, ByteBuffer(bytes: [1, 0, 1, 0x61, 0, 0, 0, 0xAB, 0xCD]))
        }
    }

    @Test func invalidUTF8HostIsRejected() {
        #expect(throws: WireError.invalidUTF8(message: .hostPowerRequest, field: "hostID")) {
            try decodePayload(.hostPowerRequest, ByteBuffer(bytes: [1, 0, 2, 0xC0, 0x80, 0, 0, 0]))
        }
    }
}
