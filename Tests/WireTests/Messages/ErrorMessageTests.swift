import NIOCore
import Testing
import Wire

@Suite struct ErrorMessageTests {
    static let knownCodes: [ErrorMessage.Code] = [
        .malformedFrame, .noCommonVersion, .unexpectedMessage, .internalError, .unsupported, .conflict, .invalidValue,
        .busy,
    ]

    @Test(arguments: knownCodes)
    func everyCodeRoundTrips(code: ErrorMessage.Code) throws {
        try expectRoundTrip(.error(ErrorMessage(code: code, message: "bad frame magic 0x4745 (expected 0x5450)")))
    }

    @Test func unknownCodeFromANewerPeerDecodes() throws {
        let error = ErrorMessage(code: ErrorMessage.Code(rawValue: 0xBEEF), message: "")
        try expectRoundTrip(.error(error))
        #expect(error.code.description == "code48879")
    }

    @Test func codeNamesAndValuesAreStable() {
        #expect(Self.knownCodes.map(\.rawValue) == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(
            Self.knownCodes.map(\.description) == [
                "malformedFrame", "noCommonVersion", "unexpectedMessage", "internalError", "unsupported", "conflict",
                "invalidValue", "busy",
            ]
        )
    }

    @Test func maximumLengthMessagesRoundTrip() throws {
        try expectRoundTrip(.error(ErrorMessage(code: .internalError, message: Samples.maxString)))
        try expectRoundTrip(.error(ErrorMessage(code: .internalError, message: Samples.maxMultibyteString)))
    }

    @Test func noCommonVersionMessageMatchesTheWireErrorDescription() {
        let error = WireError.noCommonVersion(local: [1], remote: [2, 3])
        guard case .error(let message) = Samples.goldenError.message else {
            Issue.record("not an error message")
            return
        }
        #expect(message.message == error.description)
    }

    @Test func invalidUTF8MessageIsRejected() throws {
        // Payload offsets from Fixtures/error-no-common-version.hex: the message's bytes start at 4.
        let payload = try Fixture.bytes("error-no-common-version").dropping(13)
        #expect(throws: WireError.invalidUTF8(message: .error, field: "message")) {
            try decodePayload(.error, payload.settingByte(0xFF, at: 10))
        }
    }
}
