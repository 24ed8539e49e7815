import NIOCore
import Testing
import Wire

extension Samples {
    static let goldenHostAssignmentRequest = WireEnvelope(
        requestID: 40,
        message: .hostAssignmentRequest(HostAssignmentRequest(hostID: "0f2c9e8a7b6d4c3b"))
    )
}

/// HostAssignmentRequest (0x15): round trips, its bytes, and what a decoder refuses.
@Suite struct HostAssignmentRequestTests {
    @Test func roundTrips() throws {
        try expectRoundTrip(Samples.goldenHostAssignmentRequest.message, requestID: 40)
        try expectRoundTrip(.hostAssignmentRequest(HostAssignmentRequest(hostID: "h")), requestID: .max)
        try expectRoundTrip(.hostAssignmentRequest(HostAssignmentRequest(hostID: Samples.unicodeName)))
        try expectRoundTrip(.hostAssignmentRequest(HostAssignmentRequest(hostID: Samples.maxMultibyteString)))
    }

    @Test func typeByteAndName() {
        #expect(WireMessageType.hostAssignmentRequest.rawValue == 0x15)
        #expect(WireMessageType.hostAssignmentRequest.description == "HostAssignmentRequest")
    }

    @Test func layoutIsTheHostID() {
        #expect(
            hex(payloadBytes(.hostAssignmentRequest(HostAssignmentRequest(hostID: "ab")))) == "0002" + "6162" + "0000"
        )
    }

    @Test func anEmptyHostIDIsRejected() {
        #expect(throws: WireError.invalidValue(message: .hostAssignmentRequest, field: "hostID", value: 0)) {
            try decodePayload(.hostAssignmentRequest, hexBytes("0000 0000"))
        }
    }

    @Test func truncatedOrInvalidHostIDsAreRejected() {
        #expect(throws: WireError.truncated(message: .hostAssignmentRequest, field: "hostID")) {
            try decodePayload(.hostAssignmentRequest, hexBytes("0004 61"))
        }
        #expect(throws: WireError.invalidUTF8(message: .hostAssignmentRequest, field: "hostID")) {
            try decodePayload(.hostAssignmentRequest, hexBytes("0003 eda080 0000"))
        }
    }

    @Test func everyPrefixIsRejected() {
        let payload = payloadBytes(Samples.goldenHostAssignmentRequest.message)
        for length in 0..<payload.readableBytes {
            #expect(throws: WireError.self, "prefix of \(length) bytes") {
                try decodePayload(.hostAssignmentRequest, payload.prefix(length))
            }
        }
    }

    @Test func trailingBytesAreRejected() {
        var payload = payloadBytes(Samples.goldenHostAssignmentRequest.message)
        payload.writeInteger(UInt8(0))
        #expect(throws: WireError.trailingBytes(message: .hostAssignmentRequest, count: 1)) {
            try decodePayload(.hostAssignmentRequest, payload)
        }
    }
}
