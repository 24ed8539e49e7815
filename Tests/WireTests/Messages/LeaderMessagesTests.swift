import NIOCore
import Testing
import Wire

/// LeaderQuery (0x36) and LeaderReply (0x37): round trips, their bytes, and what a decoder refuses.
@Suite struct LeaderMessagesTests {
    @Test func roundTrip() throws {
        try expectRoundTrip(.leaderQuery(LeaderQuery()), requestID: 1)
        try expectRoundTrip(.leaderReply(LeaderReply(leader: .nobody)), requestID: 1)
        try expectRoundTrip(
            .leaderReply(LeaderReply(leader: .elected(managerID: Samples.unicodeName, address: "[::1]:7700"))),
            requestID: .max
        )
    }

    @Test func typeBytesAndNames() {
        #expect(WireMessageType.leaderQuery.rawValue == 0x36)
        #expect(WireMessageType.leaderQuery.description == "LeaderQuery")
        #expect(WireMessageType.leaderReply.rawValue == 0x37)
        #expect(WireMessageType.leaderReply.description == "LeaderReply")
        #expect(ErrorMessage.Code.notLeader.rawValue == 11)
        #expect(ErrorMessage.Code.notLeader.description == "notLeader")
    }

    @Test(arguments: [
        // An unknown state.
        ("02 0000 0000 0000", "state"),
        ("ff 0002 6d32 0002 613a 0000", "state"),
        // Nobody leads, yet someone is named.
        ("00 0002 6d32 0000 0000", "managerID"),
        ("00 0000 0003 613a31 0000", "address"),
        // Someone leads, yet no id or no address.
        ("01 0000 0003 613a31 0000", "managerID"),
        ("01 0002 6d32 0000 0000", "address"),
    ])
    func inconsistentRepliesAreRefused(bytes: String, field: String) {
        #expect {
            try decodePayload(.leaderReply, hexBytes(bytes))
        } throws: { error in
            guard case WireError.invalidValue(.leaderReply, let refused, _) = error else { return false }
            return refused == field
        }
    }

    @Test func everyPrefixIsRejected() throws {
        for golden in [Samples.goldenLeaderReply, Samples.goldenLeaderReplyNone] {
            let payload = payloadBytes(golden.message)
            for length in 0..<payload.readableBytes {
                #expect(throws: WireError.self, "\(golden.message.type): prefix of \(length) bytes") {
                    try decodePayload(golden.message.type, payload.prefix(length))
                }
            }
        }
        #expect(throws: WireError.self) { try decodePayload(.leaderQuery, ByteBuffer()) }
    }

    @Test func trailingBytesAreRejected() {
        for message in [Samples.goldenLeaderQuery.message, Samples.goldenLeaderReply.message] {
            var payload = payloadBytes(message)
            payload.writeInteger(UInt8(0))
            #expect(throws: WireError.trailingBytes(message: message.type, count: 1)) {
                try decodePayload(message.type, payload)
            }
        }
    }
}
