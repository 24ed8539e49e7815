import NIOCore
import Testing
import Wire

@Suite struct EnergyRequestTests {
    @Test func roundTrips() throws {
        try expectRoundTrip(.energyRequest(EnergyRequest()), requestID: 12)
    }

    @Test func payloadIsOnlyTheEmptyExtensionArea() {
        #expect(hex(payloadBytes(.energyRequest(EnergyRequest()))) == "0000")
    }

    @Test func emptyPayloadIsTruncated() {
        #expect(throws: WireError.truncated(message: .energyRequest, field: "extensions")) {
            try decodePayload(.energyRequest, ByteBuffer())
        }
    }

    @Test func trailingByteIsRejected() {
        #expect(throws: WireError.trailingBytes(message: .energyRequest, count: 1)) {
            try decodePayload(.energyRequest, ByteBuffer(bytes: [0, 0, 0]))
        }
    }

    @Test func typeByteAndName() {
        #expect(WireMessageType.energyRequest.rawValue == 0x43)
        #expect(WireMessageType.energyRequest.description == "EnergyRequest")
    }
}
