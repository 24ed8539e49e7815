import NIOCore
import Testing
import Wire

@Suite struct WelcomeTests {
    @Test func agentWelcomeRoundTrips() throws {
        try expectRoundTrip(Samples.goldenWelcome.message, flags: .response)
    }

    @Test(arguments: PeerRole.allCases)
    func everyRoleRoundTripsWithoutAssignment(role: PeerRole) throws {
        try expectRoundTrip(.welcome(Welcome(version: 1, role: role, softwareVersion: "0.1.0", nodeName: "kvm-07")))
    }

    @Test func edgeValuesRoundTrip() throws {
        let assignment = Welcome.Assignment(
            managerID: Samples.maxMultibyteString,
            heartbeatIntervalMilliseconds: .max,
            reportIntervalMilliseconds: 0
        )
        try expectRoundTrip(
            .welcome(
                Welcome(
                    version: .max,
                    role: .manager,
                    softwareVersion: Samples.maxString,
                    nodeName: "",
                    assignment: assignment
                )
            )
        )
    }

    // Offsets are payload offsets from Fixtures/welcome-agent.hex (frame offset - 13).

    @Test func invalidRoleIsRejected() throws {
        let payload = try Fixture.bytes("welcome-agent").dropping(13)
        #expect(throws: WireError.invalidValue(message: .welcome, field: "role", value: 0)) {
            try decodePayload(.welcome, payload.settingByte(0, at: 1))
        }
    }

    @Test func invalidAssignmentPresenceIsRejected() throws {
        let payload = try Fixture.bytes("welcome-agent").dropping(13)
        #expect(throws: WireError.invalidValue(message: .welcome, field: "assignment", value: 0x80)) {
            try decodePayload(.welcome, payload.settingByte(0x80, at: 16))
        }
    }

    @Test func truncatedIntervalNamesTheField() throws {
        let payload = try Fixture.bytes("welcome-agent").dropping(13)
        #expect(throws: WireError.truncated(message: .welcome, field: "assignment.reportInterval")) {
            try decodePayload(.welcome, payload.prefix(30))
        }
    }

    @Test func nodeNameRunningPastThePayloadIsTruncated() throws {
        var payload = ByteBuffer()
        payload.writeBytes([1, 2])  // version, role
        payload.writeInteger(UInt16(5))
        payload.writeString("0.1.0")
        payload.writeInteger(UInt16(100))  // nodeName claims 100 bytes
        payload.writeString("mgr")
        #expect(throws: WireError.truncated(message: .welcome, field: "nodeName")) {
            try decodePayload(.welcome, payload)
        }
    }
}
