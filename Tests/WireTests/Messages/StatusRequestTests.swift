import NIOCore
import Testing
import Wire

@Suite struct StatusRequestTests {
    @Test func roundTrips() throws {
        try expectRoundTrip(.statusRequest(StatusRequest()), requestID: 9)
    }

    @Test func payloadIsOnlyTheEmptyExtensionArea() {
        #expect(hex(payloadBytes(.statusRequest(StatusRequest()))) == "0000")
    }

    @Test func emptyPayloadIsTruncated() {
        #expect(throws: WireError.truncated(message: .statusRequest, field: "extensions")) {
            try decodePayload(.statusRequest, ByteBuffer())
        }
    }

    @Test func trailingByteIsRejected() {
        #expect(throws: WireError.trailingBytes(message: .statusRequest, count: 1)) {
            try decodePayload(.statusRequest, ByteBuffer(bytes: [0, 0, 0]))
        }
    }
}
