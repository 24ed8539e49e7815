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

    @Test func truncatedTimeoutIsRejected() throws {
        let payload = try Fixture.bytes("power-command-suspend").dropping(13)
        #expect(throws: WireError.truncated(message: .powerCommand, field: "timeoutSeconds")) {
            try decodePayload(.powerCommand, payload.prefix(3))
        }
    }
}
