import NIOCore
import Testing
import Wire

@Suite struct HelloTests {
    @Test func agentHelloRoundTrips() throws {
        try expectRoundTrip(Samples.goldenHello.message)
    }

    @Test(arguments: PeerRole.allCases)
    func everyRoleRoundTripsWithoutAgent(role: PeerRole) throws {
        try expectRoundTrip(.hello(Hello(role: role, softwareVersion: "0.1.0", nodeName: "mgr-1")))
    }

    @Test func edgeValuesRoundTrip() throws {
        var description = Samples.agentDescription
        // Unknown capability bits from a newer agent are kept.
        description.capabilities = AgentCapabilities(rawValue: 0xFFFF_FFFF)
        description.capacity = HostCapacity(
            cores: .max,
            memoryBytes: .max,
            nicRxBytesPerSecond: 0,
            nicTxBytesPerSecond: .max
        )
        description.wake = WakeSettings()
        description.hostID = Samples.maxString
        description.hostname = Samples.maxMultibyteString
        description.listenAddress = ""
        try expectRoundTrip(
            .hello(
                Hello(
                    supportedVersions: Array(1...255),
                    role: .agent,
                    softwareVersion: "",
                    nodeName: Samples.unicodeName,
                    agent: description
                )
            )
        )
        try expectRoundTrip(.hello(Hello(supportedVersions: [], role: .control, softwareVersion: "", nodeName: "")))
    }

    @Test func everyWakeDriverRoundTrips() throws {
        var description = Samples.agentDescription
        description.wake = WakeSettings(
            macAddress: nil,
            wakeOnLANTarget: "",
            bmcAddress: "[fd00::7]:623",
            drivers: WakeSettings.Driver.allCases + WakeSettings.Driver.allCases.reversed()
        )
        try expectRoundTrip(.hello(Hello(role: .agent, softwareVersion: "0.1.0", nodeName: "n", agent: description)))
    }

    @Test func defaultVersionsAreThisBuilds() {
        #expect(Hello(role: .manager, softwareVersion: "0.1.0", nodeName: "m").supportedVersions == [1])
    }

    @Test func encoderSendsAtMost255Versions() throws {
        let hello = Hello(
            supportedVersions: Array(repeating: 1, count: 300),
            role: .agent,
            softwareVersion: "",
            nodeName: ""
        )
        let payload = payloadBytes(.hello(hello))
        #expect(payload.getInteger(at: 0, as: UInt8.self) == 255)
        guard case .hello(let decoded) = try decodePayload(.hello, payload) else {
            Issue.record("not a hello")
            return
        }
        #expect(decoded.supportedVersions.count == 255)
    }

    @Test func shortMACAddressIsPaddedToSixBytes() throws {
        var description = Samples.agentDescription
        description.wake.macAddress = [0xAA, 0xBB]
        let message = WireMessage.hello(Hello(role: .agent, softwareVersion: "", nodeName: "", agent: description))
        guard case .hello(let decoded) = try decodePayload(.hello, payloadBytes(message)) else {
            Issue.record("not a hello")
            return
        }
        #expect(decoded.agent?.wake.macAddress == [0xAA, 0xBB, 0, 0, 0, 0])
    }

    // Offsets below are payload offsets from Fixtures/hello-agent.hex (frame offset - 13).

    @Test func invalidRoleIsRejected() throws {
        let payload = try Fixture.bytes("hello-agent").dropping(13)
        for role: UInt8 in [0, 4, 0xFF] {
            #expect(throws: WireError.invalidValue(message: .hello, field: "role", value: UInt64(role))) {
                try decodePayload(.hello, payload.settingByte(role, at: 2))
            }
        }
    }

    @Test func invalidAgentPresenceIsRejected() throws {
        let payload = try Fixture.bytes("hello-agent").dropping(13)
        #expect(throws: WireError.invalidValue(message: .hello, field: "agent", value: 2)) {
            try decodePayload(.hello, payload.settingByte(2, at: 18))
        }
    }

    @Test func invalidWakeDriverIsRejected() throws {
        let payload = try Fixture.bytes("hello-agent").dropping(13)
        #expect(throws: WireError.invalidValue(message: .hello, field: "wake.drivers", value: 9)) {
            try decodePayload(.hello, payload.settingByte(9, at: 116))
        }
    }

    @Test func versionCountBeyondPayloadIsAbsurd() throws {
        var payload = ByteBuffer()
        payload.writeInteger(UInt8(200))
        payload.writeBytes([1, 1])
        #expect(
            throws: WireError.absurdCount(message: .hello, field: "supportedVersions", count: 200, remainingBytes: 2)
        ) {
            try decodePayload(.hello, payload)
        }
    }

    @Test func everyTruncationOfTheFixtureFails() throws {
        let payload = try Fixture.bytes("hello-agent").dropping(13)
        for length in 0..<payload.readableBytes {
            #expect(throws: WireError.self, "a payload cut to \(length) bytes decoded") {
                try decodePayload(.hello, payload.prefix(length))
            }
        }
    }

    @Test func truncatedMACAddressNamesTheField() throws {
        let payload = try Fixture.bytes("hello-agent").dropping(13)
        #expect(throws: WireError.truncated(message: .hello, field: "wake.macAddress")) {
            try decodePayload(.hello, payload.prefix(83))
        }
    }
}
