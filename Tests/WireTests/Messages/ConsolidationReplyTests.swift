import NIOCore
import Testing
import Wire

@Suite struct ConsolidationReplyTests {
    static func move(_ vm: String, task: String = "") -> ConsolidationReply.Move {
        ConsolidationReply.Move(
            vm: vm,
            fromHost: "host-3",
            toHost: "host-1",
            memoryBytes: 4 << 30,
            costBytes: 6 << 30,
            costSeconds: 52.5,
            taskID: task
        )
    }

    @Test func roundTrips() throws {
        let started = ConsolidationReply(
            policy: "sercon",
            started: true,
            reason: "",
            moves: [Self.move("web-1", task: "t-1a2b3c4d"), Self.move(Samples.unicodeName, task: "t-5e6f7a8b")],
            hostsFreed: ["host-3", "host-4"],
            costBytes: 12 << 30,
            costSeconds: 105,
            hostsUsedBefore: 4,
            hostsUsedAfter: 2,
            hostsLowerBound: 2
        )
        try expectRoundTrip(.consolidationReply(started), requestID: 7, flags: .response)
        let refused = ConsolidationReply(
            policy: "cost-aware",
            started: false,
            reason: "the plan frees no host",
            moves: [],
            hostsFreed: [],
            costBytes: 0,
            costSeconds: 0,
            hostsUsedBefore: 1,
            hostsUsedAfter: 1,
            hostsLowerBound: 1
        )
        try expectRoundTrip(.consolidationReply(refused), requestID: 8, flags: .response)
    }

    @Test func typeByteAndName() {
        #expect(WireMessageType.consolidationReply.rawValue == 0x46)
        #expect(WireMessageType.consolidationReply.description == "ConsolidationReply")
    }

    @Test func everyPrefixIsRejected() throws {
        let payload = payloadBytes(Samples.goldenConsolidationReply.message)
        for length in 0..<payload.readableBytes {
            #expect(throws: WireError.self, "prefix of \(length) bytes") {
                try decodePayload(.consolidationReply, payload.prefix(length))
            }
        }
    }

    @Test func absurdMoveCountIsRejected() {
        // policy "", started false, reason "", then 1000 moves promised with nothing after.
        #expect(
            throws: WireError.absurdCount(
                message: .consolidationReply,
                field: "moves",
                count: 1000,
                remainingBytes: 2
            )
        ) {
            try decodePayload(.consolidationReply, hexBytes("0000 00 0000 03e8 0000"))
        }
    }
}
