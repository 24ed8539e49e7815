import NIOCore
import Testing
import Wire

extension Samples {
    static let goldenHostAssignmentGroupManager = WireEnvelope(
        flags: .response,
        requestID: 40,
        message: .hostAssignment(
            HostAssignment(hostID: "0f2c9e8a7b6d4c3b", target: .groupManager(id: "gm-2", address: "10.0.0.21:7710"))
        )
    )
}

/// HostAssignment (0x23): round trips, its bytes, and what a decoder refuses.
@Suite struct HostAssignmentTests {
    @Test func roundTrips() throws {
        try expectRoundTrip(Samples.goldenHostAssignmentGroupManager.message, requestID: 40, flags: .response)
        try expectRoundTrip(.hostAssignment(HostAssignment(hostID: "h", target: .leader)), flags: .response)
        try expectRoundTrip(
            .hostAssignment(
                HostAssignment(
                    hostID: Samples.unicodeName,
                    target: .groupManager(id: Samples.maxMultibyteString, address: "[::1]:7710")
                )
            )
        )
    }

    @Test func typeByteAndName() {
        #expect(WireMessageType.hostAssignment.rawValue == 0x23)
        #expect(WireMessageType.hostAssignment.description == "HostAssignment")
    }

    @Test func leaderLayoutHasEmptyNames() {
        #expect(
            hex(payloadBytes(.hostAssignment(HostAssignment(hostID: "h", target: .leader))))
                == "000168" + "00" + "0000" + "0000" + "0000"
        )
    }

    @Test(arguments: [
        // No host.
        ("0000 00 0000 0000 0000", "hostID"),
        // An unknown target.
        ("0001 68 02 0000 0000 0000", "target"),
        ("0001 68 ff 0002 6d32 0002 613a 0000", "target"),
        // The host stays on the leader, yet a group manager is named.
        ("0001 68 00 0002 6d32 0000 0000", "groupManagerID"),
        ("0001 68 00 0000 0003 613a31 0000", "address"),
        // A group manager, yet no id or no address.
        ("0001 68 01 0000 0003 613a31 0000", "groupManagerID"),
        ("0001 68 01 0002 6d32 0000 0000", "address"),
    ])
    func inconsistentAssignmentsAreRefused(bytes: String, field: String) {
        #expect {
            try decodePayload(.hostAssignment, hexBytes(bytes))
        } throws: { error in
            guard case WireError.invalidValue(.hostAssignment, let refused, _) = error else { return false }
            return refused == field
        }
    }

    @Test func refusedValuesAreNamed() {
        #expect(throws: WireError.invalidValue(message: .hostAssignment, field: "target", value: 2)) {
            try decodePayload(.hostAssignment, hexBytes("0001 68 02 0000 0000 0000"))
        }
        // With the leader, the value is the length of what should be empty.
        #expect(throws: WireError.invalidValue(message: .hostAssignment, field: "address", value: 3)) {
            try decodePayload(.hostAssignment, hexBytes("0001 68 00 0000 0003 613a31 0000"))
        }
    }

    @Test func everyPrefixIsRejected() {
        let leader = WireMessage.hostAssignment(HostAssignment(hostID: "h", target: .leader))
        for message in [Samples.goldenHostAssignmentGroupManager.message, leader] {
            let payload = payloadBytes(message)
            for length in 0..<payload.readableBytes {
                #expect(throws: WireError.self, "prefix of \(length) bytes") {
                    try decodePayload(.hostAssignment, payload.prefix(length))
                }
            }
        }
    }

    @Test func trailingBytesAreRejected() {
        var payload = payloadBytes(Samples.goldenHostAssignmentGroupManager.message)
        payload.writeInteger(UInt8(0))
        #expect(throws: WireError.trailingBytes(message: .hostAssignment, count: 1)) {
            try decodePayload(.hostAssignment, payload)
        }
    }
}
