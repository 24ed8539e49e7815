import NIOCore
import Testing
import Wire

@Suite struct CommandResultTests {
    static let knownCodes: [CommandResult.Code] = [
        .ok, .notFound, .invalidArgument, .hypervisorError, .commandFailed, .timedOut, .busy, .unsupported,
        .internalError, .conflict, .notDelivered, .hypervisorUnavailable,
    ]

    @Test func goldenErrorResultRoundTrips() throws {
        try expectRoundTrip(Samples.goldenCommandResultError.message, requestID: 513, flags: .response)
    }

    @Test(arguments: knownCodes)
    func everyCodeRoundTrips(code: CommandResult.Code) throws {
        try expectRoundTrip(.commandResult(CommandResult(code: code, message: "\(code)", detail: "")))
    }

    @Test func codeValuesAndNamesAreStable() {
        #expect(Self.knownCodes.map(\.rawValue) == Array(0...11))
        #expect(
            Self.knownCodes.map(\.description) == [
                "ok", "notFound", "invalidArgument", "hypervisorError", "commandFailed", "timedOut", "busy",
                "unsupported", "internalError", "conflict", "notDelivered", "hypervisorUnavailable",
            ]
        )
        #expect(CommandResult.Code(rawValue: 4242).description == "code4242")
    }

    @Test func okHelperAndUnknownCodes() throws {
        #expect(CommandResult.ok().isOK)
        #expect(CommandResult.ok("started debian1") == CommandResult(code: .ok, message: "started debian1", detail: ""))
        #expect(!CommandResult(code: .busy, message: "migration in progress").isOK)
        try expectRoundTrip(.commandResult(CommandResult(code: CommandResult.Code(rawValue: .max), message: "")))
    }

    @Test func longDetailUsesAThirtyTwoBitLength() throws {
        // 190 000 bytes of multi-byte output: more than a u16 length could carry.
        let detail = String(repeating: "stderr: échec ✗\n", count: 10_000)
        #expect(detail.utf8.count > Int(UInt16.max))
        let result = CommandResult(code: .commandFailed, message: "pm-suspend exited with 1", detail: detail)
        try expectRoundTrip(.commandResult(result))
        let payload = payloadBytes(.commandResult(result))
        #expect(payload.getInteger(at: 28, as: UInt32.self) == UInt32(detail.utf8.count))
    }

    @Test func maximumLengthMessageRoundTrips() throws {
        try expectRoundTrip(
            .commandResult(CommandResult(code: .ok, message: Samples.maxString, detail: Samples.maxString))
        )
    }

    // Payload offsets from Fixtures/command-result-error.hex (frame offset - 13).

    @Test func detailRunningPastThePayloadIsTruncated() throws {
        let payload = try Fixture.bytes("command-result-error").dropping(13).settingByte(0x01, at: 20)
        #expect(throws: WireError.truncated(message: .commandResult, field: "detail")) {
            try decodePayload(.commandResult, payload)
        }
    }

    @Test func invalidUTF8DetailIsRejected() throws {
        // A lone continuation byte.
        let payload = try Fixture.bytes("command-result-error").dropping(13).settingByte(0x80, at: 30)
        #expect(throws: WireError.invalidUTF8(message: .commandResult, field: "detail")) {
            try decodePayload(.commandResult, payload)
        }
    }
}
