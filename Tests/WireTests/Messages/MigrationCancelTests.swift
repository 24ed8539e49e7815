import NIOCore
import Testing
import Wire

extension Samples {
    static let goldenMigrationCancel = WireEnvelope(
        flags: .ignorable,
        requestID: 514,
        message: .migrationCancel(MigrationCancel(vmName: "web-01"))
    )
}

@Suite struct MigrationCancelTests {
    @Test func roundTrips() throws {
        try expectRoundTrip(.migrationCancel(MigrationCancel(vmName: "web-01")), flags: .ignorable)
        try expectRoundTrip(.migrationCancel(MigrationCancel(vmName: "")))
        try expectRoundTrip(.migrationCancel(MigrationCancel(vmName: Samples.maxMultibyteString)))
    }

    @Test func typeByteAndName() {
        #expect(WireMessageType.migrationCancel.rawValue == 0x22)
        #expect(WireMessageType.migrationCancel.description == "MigrationCancel")
    }

    @Test func layoutIsTheName() {
        #expect(hex(payloadBytes(.migrationCancel(MigrationCancel(vmName: "ab")))) == "0002" + "6162" + "0000")
    }

    @Test func truncatedOrInvalidNamesAreRejected() {
        #expect(throws: WireError.truncated(message: .migrationCancel, field: "vmName")) {
            try decodePayload(.migrationCancel, ByteBuffer(bytes: [0, 4, 0x61]))
        }
        #expect(throws: WireError.invalidUTF8(message: .migrationCancel, field: "vmName")) {
            try decodePayload(.migrationCancel, ByteBuffer(bytes: [0, 3, 0xED, 0xA0, 0x80, 0, 0]))
        }
        #expect(throws: WireError.trailingBytes(message: .migrationCancel, count: 1)) {
            try decodePayload(.migrationCancel, ByteBuffer(bytes: [0, 0, 0, 0, 7]))
        }
    }
}
