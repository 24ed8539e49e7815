import NIOCore
import Testing
import Wire

@Suite struct HeartbeatTests {
    @Test(arguments: [
        Heartbeat(sequence: 42, timestampMilliseconds: 1_763_827_200_123),
        Heartbeat(sequence: 0, timestampMilliseconds: 0),
        Heartbeat(sequence: .max, timestampMilliseconds: .max),
        Heartbeat(sequence: 1, timestampMilliseconds: .min),
        Heartbeat(sequence: 7, timestampMilliseconds: -1),
    ])
    func roundTrips(heartbeat: Heartbeat) throws {
        try expectRoundTrip(.heartbeat(heartbeat))
    }

    @Test func pingAndEchoKeepRequestIDAndFlags() throws {
        let ping = WireEnvelope(requestID: 99, message: .heartbeat(Heartbeat(sequence: 5, timestampMilliseconds: 1)))
        let echo = WireEnvelope(flags: .response, requestID: 99, message: ping.message)
        #expect(try roundTrip(ping) == ping)
        #expect(try roundTrip(ping).isResponse == false)
        #expect(try roundTrip(echo) == echo)
        #expect(try roundTrip(echo).isResponse)
    }

    @Test func payloadIsSixteenBytesAndAnEmptyExtensionArea() {
        let payload = payloadBytes(.heartbeat(Heartbeat(sequence: 1, timestampMilliseconds: 2)))
        #expect(hex(payload) == "0000000000000001" + "0000000000000002" + "0000")
    }

    @Test func truncatedPayloadIsRejected() throws {
        let payload = try Fixture.bytes("heartbeat-response").dropping(13)
        for length in [0, 8, 15] {
            #expect(throws: WireError.truncated(message: .heartbeat, field: "sequence/timestamp")) {
                try decodePayload(.heartbeat, payload.prefix(length))
            }
        }
        #expect(throws: WireError.truncated(message: .heartbeat, field: "extensions")) {
            try decodePayload(.heartbeat, payload.prefix(17))
        }
    }

    @Test func trailingBytesAreRejected() throws {
        var payload = try Fixture.bytes("heartbeat-response").dropping(13)
        payload.writeBytes([0xDE, 0xAD, 0xBE])
        #expect(throws: WireError.trailingBytes(message: .heartbeat, count: 3)) {
            try decodePayload(.heartbeat, payload)
        }
    }
}
