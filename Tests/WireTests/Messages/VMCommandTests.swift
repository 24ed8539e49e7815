import NIOCore
import Testing
import Wire

@Suite struct VMCommandTests {
    static let everyKind: [VMCommand] = [
        .start(domainXML: Samples.domainXML),
        .suspend(name: "debian1"),
        .resume(name: "debian1"),
        .shutdown(name: "web-01"),
        .destroy(name: "web-01"),
        .reboot(name: Samples.unicodeName),
        .undefine(name: "web-1"),
        .migrate(
            VMCommand.Migration(
                name: "web-01",
                destinationURI: "qemu+tcp://10.0.0.2/system",
                method: .live,
                timeoutSeconds: 300
            )
        ),
    ]

    @Test(arguments: everyKind)
    func everyKindRoundTrips(command: VMCommand) throws {
        try expectRoundTrip(.vmCommand(command), requestID: 513)
    }

    @Test(arguments: VMCommand.Migration.Method.allCases)
    func everyMigrationMethodRoundTrips(method: VMCommand.Migration.Method) throws {
        let migration = VMCommand.Migration(
            name: "db-primary",
            destinationURI: "qemu+ssh://kvm-12.lab/system",
            method: method,
            timeoutSeconds: .max
        )
        try expectRoundTrip(.vmCommand(.migrate(migration)))
    }

    @Test func kindBytesAreStable() {
        let kinds = Self.everyKind.map { payloadBytes(.vmCommand($0)).getInteger(at: 0, as: UInt8.self) }
        #expect(kinds == [1, 2, 3, 4, 5, 6, 8, 7])
    }

    @Test func edgeValuesRoundTrip() throws {
        try expectRoundTrip(.vmCommand(.start(domainXML: "")))
        try expectRoundTrip(.vmCommand(.suspend(name: "")))
        try expectRoundTrip(.vmCommand(.destroy(name: Samples.maxMultibyteString)))
        // A domain definition bigger than a u16 length: `text` has a u32 length.
        try expectRoundTrip(.vmCommand(.start(domainXML: String(repeating: Samples.domainXML, count: 100))))
    }

    // Payload offsets from Fixtures/vmcommand-migrate.hex (frame offset - 13).

    @Test func invalidKindIsRejected() throws {
        let payload = try Fixture.bytes("vmcommand-migrate").dropping(13)
        for kind: UInt8 in [0, 9, 0xFF] {
            #expect(throws: WireError.invalidValue(message: .vmCommand, field: "kind", value: UInt64(kind))) {
                try decodePayload(.vmCommand, payload.settingByte(kind, at: 0))
            }
        }
    }

    @Test func invalidMigrationMethodIsRejected() throws {
        let payload = try Fixture.bytes("vmcommand-migrate").dropping(13)
        #expect(throws: WireError.invalidValue(message: .vmCommand, field: "method", value: 5)) {
            try decodePayload(.vmCommand, payload.settingByte(5, at: 37))
        }
    }

    @Test func kindChangedUnderTheFieldsIsCaught() throws {
        // The migrate payload read as `suspend`: after the name, the destination's length (26) is taken for the
        // extension count, which the 33 remaining bytes cannot hold.
        let payload = try Fixture.bytes("vmcommand-migrate").dropping(13).settingByte(2, at: 0)
        #expect(
            throws: WireError.absurdCount(message: .vmCommand, field: "extensions", count: 26, remainingBytes: 33)
        ) {
            try decodePayload(.vmCommand, payload)
        }
    }

    @Test func truncatedTimeoutNamesTheField() throws {
        let payload = try Fixture.bytes("vmcommand-migrate").dropping(13)
        #expect(throws: WireError.truncated(message: .vmCommand, field: "timeoutSeconds")) {
            try decodePayload(.vmCommand, payload.prefix(40))
        }
    }
}
