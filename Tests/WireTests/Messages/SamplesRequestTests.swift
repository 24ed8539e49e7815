import NIOCore
import Testing
import Wire

@Suite struct SamplesRequestTests {
    @Test(arguments: [UInt16(0), 1, 60, .max])
    func roundTrips(last: UInt16) throws {
        try expectRoundTrip(.samplesRequest(SamplesRequest(vmName: "debian1", last: last)), requestID: 12)
    }

    @Test func edgeNamesRoundTrip() throws {
        try expectRoundTrip(.samplesRequest(SamplesRequest(vmName: "")))
        try expectRoundTrip(.samplesRequest(SamplesRequest(vmName: Samples.maxMultibyteString)))
        #expect(SamplesRequest(vmName: "x").last == 0)
    }

    @Test func layoutIsNameThenLast() {
        #expect(
            hex(payloadBytes(.samplesRequest(SamplesRequest(vmName: "vm", last: 5)))) == "0002" + "766d" + "0005"
                + "0000"
        )
    }

    @Test func truncatedLastIsRejected() {
        #expect(throws: WireError.truncated(message: .samplesRequest, field: "last")) {
            try decodePayload(.samplesRequest, ByteBuffer(bytes: [0, 2, 0x76, 0x6D, 0]))
        }
    }

    @Test func invalidUTF8NameIsRejected() {
        // A UTF-16 surrogate (U+D800) encoded as UTF-8 is not valid UTF-8.
        #expect(throws: WireError.invalidUTF8(message: .samplesRequest, field: "vmName")) {
            try decodePayload(.samplesRequest, ByteBuffer(bytes: [0, 3, 0xED, 0xA0, 0x80, 0, 0, 0, 0]))
        }
    }
}
