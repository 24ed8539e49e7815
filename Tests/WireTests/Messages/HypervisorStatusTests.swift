import NIOCore
import Testing
import Wire

extension Samples {
    static let goldenHypervisorStatus = WireEnvelope(
        flags: .ignorable,
        requestID: 0,
        message: .hypervisorStatus(.unreachable("libvirtd down"))
    )
}

@Suite struct HypervisorStatusTests {
    @Test func roundTrips() throws {
        try expectRoundTrip(.hypervisorStatus(.answering), flags: .ignorable)
        try expectRoundTrip(.hypervisorStatus(.unreachable("cannot connect to libvirtd")), flags: .ignorable)
        try expectRoundTrip(.hypervisorStatus(.unreachable("")))
        try expectRoundTrip(.hypervisorStatus(.unreachable("libvirtd ne répond pas ✓")))
    }

    @Test func typeByteAndName() {
        #expect(WireMessageType.hypervisorStatus.rawValue == 0x16)
        #expect(WireMessageType.hypervisorStatus.description == "HypervisorStatus")
        #expect(HypervisorStatus.State.allCases.map(\.rawValue) == [1, 2])
    }

    @Test func layoutIsStateThenProblem() {
        #expect(hex(payloadBytes(.hypervisorStatus(.unreachable("ab")))) == "02" + "0002" + "6162" + "0000")
        #expect(hex(payloadBytes(.hypervisorStatus(.answering))) == "01" + "0000" + "0000")
    }

    @Test func anAnsweringHypervisorCarriesNoProblem() {
        #expect(HypervisorStatus(state: .answering, problem: "ignored").problem == "")
        #expect(throws: WireError.invalidValue(message: .hypervisorStatus, field: "problem.length", value: 1)) {
            try decodePayload(.hypervisorStatus, ByteBuffer(bytes: [1, 0, 1, 0x61, 0, 0]))
        }
    }

    @Test func aLongProblemIsCutAtAScalarBoundary() throws {
        // 200 two-byte scalars: 400 bytes, cut to 128 scalars (256 bytes).
        let status = HypervisorStatus.unreachable(String(repeating: "é", count: 200))
        #expect(status.problem.utf8.count == HypervisorStatus.maximumProblemBytes)
        #expect(status.problem == String(repeating: "é", count: 128))
        try expectRoundTrip(.hypervisorStatus(status))
    }

    @Test func anOverlongProblemIsRejected() {
        var payload = ByteBuffer(bytes: [2])
        payload.writeInteger(UInt16(257))
        payload.writeRepeatingByte(0x61, count: 257)
        payload.writeInteger(UInt16(0))
        #expect(throws: WireError.invalidValue(message: .hypervisorStatus, field: "problem.length", value: 257)) {
            try decodePayload(.hypervisorStatus, payload)
        }
    }

    @Test(arguments: [UInt8(0), 3, 0xFF])
    func unknownStateIsRejected(state: UInt8) {
        #expect(throws: WireError.invalidValue(message: .hypervisorStatus, field: "state", value: UInt64(state))) {
            try decodePayload(.hypervisorStatus, ByteBuffer(bytes: [state, 0, 0, 0, 0]))
        }
    }

    @Test func truncatedOrInvalidInputIsRejectedNamingTheField() {
        #expect(throws: WireError.truncated(message: .hypervisorStatus, field: "state")) {
            try decodePayload(.hypervisorStatus, ByteBuffer())
        }
        #expect(throws: WireError.truncated(message: .hypervisorStatus, field: "problem")) {
            try decodePayload(.hypervisorStatus, ByteBuffer(bytes: [2, 0, 5, 0x61]))
        }
        #expect(throws: WireError.invalidUTF8(message: .hypervisorStatus, field: "problem")) {
            try decodePayload(.hypervisorStatus, ByteBuffer(bytes: [2, 0, 3, 0xED, 0xA0, 0x80, 0, 0]))
        }
        #expect(throws: WireError.trailingBytes(message: .hypervisorStatus, count: 1)) {
            try decodePayload(.hypervisorStatus, ByteBuffer(bytes: [1, 0, 0, 0, 0, 7]))
        }
    }
}
