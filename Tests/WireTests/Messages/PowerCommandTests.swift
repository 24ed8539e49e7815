import NIOCore
import Testing
import Wire

@Suite struct PowerCommandTests {
    @Test(arguments: PowerCommand.Action.allCases)
    func everyActionRoundTrips(action: PowerCommand.Action) throws {
        try expectRoundTrip(.powerCommand(PowerCommand(action: action, timeoutSeconds: 30)), requestID: 77)
    }

    @Test func timeoutEdgesRoundTrip() throws {
        try expectRoundTrip(.powerCommand(PowerCommand(action: .shutdown, timeoutSeconds: 0)))
        try expectRoundTrip(.powerCommand(PowerCommand(action: .suspendToBoth, timeoutSeconds: .max)))
        #expect(PowerCommand(action: .suspendToRam).timeoutSeconds == 10)
    }

    @Test func actionBytesAreStable() {
        #expect(PowerCommand.Action.allCases.map(\.rawValue) == [1, 2, 3, 4])
    }

    @Test func invalidActionIsRejected() throws {
        let payload = try Fixture.bytes("power-command-suspend").dropping(13)
        for action: UInt8 in [0, 5] {
            #expect(throws: WireError.invalidValue(message: .powerCommand, field: "action", value: UInt64(action))) {
                try decodePayload(.powerCommand, payload.settingByte(action, at: 0))
            }
        }
    }

    @Test(arguments: PowerCommand.Action.allCases)
    func forceRoundTrips(action: PowerCommand.Action) throws {
        try expectRoundTrip(.powerCommand(PowerCommand(action: action, timeoutSeconds: 30, force: true)))
        #expect(!PowerCommand(action: action).force)
    }

    @Test func forceTravelsInTheExtensionAreaUnderTagOne() {
        let forced = PowerCommand(action: .suspendToRam, timeoutSeconds: 10, force: true)
        #expect(
            hex(payloadBytes(.powerCommand(forced)))
                == "01" + "0000000a" + "0001" + "0001" + "00000001" + "01"
        )
        // Without force the payload is the version-1 layout byte for byte.
        #expect(hex(payloadBytes(.powerCommand(PowerCommand(action: .suspendToRam)))) == "01" + "0000000a" + "0000")
    }

    @Test func theOldLayoutDecodesAsNotForced() throws {
        let payload = try Fixture.bytes("power-command-suspend").dropping(13)
        #expect(try decodePayload(.powerCommand, payload) == .powerCommand(PowerCommand(action: .suspendToRam)))
        // An explicit false is accepted too.
        let explicit = hexBytes("01 0000000a 0001 0001 00000001 00")
        #expect(try decodePayload(.powerCommand, explicit) == .powerCommand(PowerCommand(action: .suspendToRam)))
    }

    @Test func aMalformedForceValueIsRejected() {
        #expect(throws: WireError.invalidValue(message: .powerCommand, field: "force", value: 2)) {
            try decodePayload(.powerCommand, hexBytes("01 0000000a 0001 0001 00000001 02"))
        }
        #expect(throws: WireError.truncated(message: .powerCommand, field: "force")) {
            try decodePayload(.powerCommand, hexBytes("01 0000000a 0001 0001 00000000"))
        }
        #expect(throws: WireError.invalidValue(message: .powerCommand, field: "force.length", value: 2)) {
            try decodePayload(.powerCommand, hexBytes("01 0000000a 0001 0001 00000002 0101"))
        }
    }

    @Test func unknownTagsBesideForceAreSkipped() throws {
        let payload = hexBytes("04 0000001e 0002 7f01 00000002 abcd 0001 00000001 01")
        #expect(
            try decodePayload(.powerCommand, payload)
                == .powerCommand(PowerCommand(action: .shutdown, timeoutSeconds: 30, force: true))
        )
    }

    @Test func truncatedTimeoutIsRejected() throws {
        let payload = try Fixture.bytes("power-command-suspend").dropping(13)
        #expect(throws: WireError.truncated(message: .powerCommand, field: "timeoutSeconds")) {
            try decodePayload(.powerCommand, payload.prefix(3))
        }
    }
}
