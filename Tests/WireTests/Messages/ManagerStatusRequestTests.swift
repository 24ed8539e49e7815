import NIOCore
import Testing
import Wire

@Suite struct ManagerStatusRequestTests {
    @Test func roundTrips() throws {
        try expectRoundTrip(.managerStatusRequest(ManagerStatusRequest()), requestID: 9)
    }

    @Test func payloadIsOnlyTheEmptyExtensionArea() {
        #expect(hex(payloadBytes(.managerStatusRequest(ManagerStatusRequest()))) == "0000")
    }

    @Test func emptyPayloadIsTruncated() {
        #expect(throws: WireError.truncated(message: .managerStatusRequest, field: "extensions")) {
            try decodePayload(.managerStatusRequest, ByteBuffer())
        }
    }

    @Test func trailingByteIsRejected() {
        #expect(throws: WireError.trailingBytes(message: .managerStatusRequest, count: 1)) {
            try decodePayload(.managerStatusRequest, ByteBuffer(bytes: [0, 0, 0]))
        }
    }

    @Test func typeByteAndName() {
        #expect(WireMessageType.managerStatusRequest.rawValue == 0x34)
        #expect(WireMessageType.managerStatusRequest.description == "ManagerStatusRequest")
    }
}
