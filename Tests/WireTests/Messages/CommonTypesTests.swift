import NIOCore
import Testing
import Wire

/// The shared value types of Messages/CommonTypes.swift. Their numbering is part of the protocol (docs/protocol.md).
@Suite struct CommonTypesTests {
    @Test func peerRoleValuesAreStable() {
        #expect(PeerRole.allCases.map(\.rawValue) == [1, 2, 3])
    }

    @Test func vmStateFollowsLibvirtsNumbering() {
        // virDomainState: NOSTATE 0, RUNNING 1, BLOCKED 2, PAUSED 3, SHUTDOWN 4, SHUTOFF 5, CRASHED 6, PMSUSPENDED 7.
        #expect(VMState.allCases.map(\.rawValue) == Array(0...7))
        #expect(VMState.shutOff.rawValue == 5)
    }

    @Test func capabilityBitsAreStable() {
        let all: AgentCapabilities = [
            .vmLifecycle, .liveMigration, .suspendToRam, .suspendToDisk, .suspendToBoth, .shutdown, .powerMetering,
        ]
        #expect(all.rawValue == 0x7F)
        #expect(AgentCapabilities.powerMetering.rawValue == 1 << 6)
    }

    @Test func wakeDriverValuesAreStable() {
        #expect(WakeSettings.Driver.allCases.map(\.rawValue) == [1, 2, 3])
    }

    @Test func hostCapacityIs26BigEndianBytes() throws {
        // Payload offsets 53..<79 of Fixtures/hello-agent.hex hold the capacity; change its last byte.
        let payload = try Fixture.bytes("hello-agent").dropping(13)
        #expect(
            hex(payload.dropping(53).prefix(26)) == "0020" + "0000002000000000" + "000000004a817c80"
                + "000000004a817c80"
        )
        guard case .hello(let hello) = try decodePayload(.hello, payload.settingByte(0x81, at: 78)) else {
            Issue.record("not a hello")
            return
        }
        #expect(hello.agent?.capacity.nicTxBytesPerSecond == 1_250_000_001)
        #expect(hello.agent?.capacity.cores == 32)
    }

    @Test func wakeSettingsWithoutMACAreOneByteShorter() throws {
        var description = Samples.agentDescription
        let withMAC = payloadBytes(.hello(Hello(role: .agent, softwareVersion: "", nodeName: "", agent: description)))
        description.wake.macAddress = nil
        let withoutMAC = payloadBytes(
            .hello(Hello(role: .agent, softwareVersion: "", nodeName: "", agent: description))
        )
        #expect(withMAC.readableBytes - withoutMAC.readableBytes == 6)
    }
}
