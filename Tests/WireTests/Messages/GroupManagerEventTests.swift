import NIOCore
import Testing
import Wire

extension Samples {
    static let agentWithMigrationURI: AgentDescription = {
        var description = agentDescription
        description.migrationURI = "qemu+tcp://10.0.0.7/system"
        return description
    }()

    static let debianInventory = Inventory(
        hostID: "0f2c9e8a7b6d4c3b",
        vms: [
            Inventory.Entry(
                slot: 0,
                uuid: debianUUID,
                name: "debian1",
                state: .running,
                virtualCPUs: 1,
                memoryKiB: 200_000
            )
        ]
    )

    static let goldenGroupManagerEventFailed = WireEnvelope(
        message: .groupManagerEvent(
            GroupManagerEvent(
                hostID: "0f2c9e8a7b6d4c3b",
                event: .failed(agentWithMigrationURI, lastInventory: debianInventory)
            )
        )
    )
}

/// GroupManagerEvent (0x51): round trips, its bytes, the payloads it embeds, and what a decoder refuses.
@Suite struct GroupManagerEventTests {
    static let migrationProgress: MigrationProgress = {
        guard case .migrationProgress(let progress) = Samples.goldenMigrationProgress.message else {
            preconditionFailure("goldenMigrationProgress is a MigrationProgress")
        }
        return progress
    }()

    static let everyEvent: [GroupManagerEvent.Event] = [
        .joined(Samples.agentDescription),
        .inventory(Samples.debianInventory),
        .failed(Samples.agentWithMigrationURI, lastInventory: Samples.debianInventory),
        .goingDown(action: .suspendToRam, reason: "manager order"),
        .resumed,
        .migrationProgress(migrationProgress),
    ]

    static func event(_ event: GroupManagerEvent.Event, hostID: String = "0f2c9e8a7b6d4c3b") -> WireMessage {
        .groupManagerEvent(GroupManagerEvent(hostID: hostID, event: event))
    }

    /// The golden payload (frame offset - 13). Offsets: kind 18, agent.wake.macAddress presence 79,
    /// agent.wake.drivers 116 and 117, lastInventory presence 160 and length 161–164, the inventory's state 212.
    static func goldenPayload() throws -> ByteBuffer {
        try Fixture.bytes("group-manager-event-failed").dropping(13)
    }

    @Test(arguments: everyEvent)
    func everyEventRoundTrips(event: GroupManagerEvent.Event) throws {
        try expectRoundTrip(Self.event(event), requestID: 0)
    }

    @Test func edgeValuesRoundTrip() throws {
        try expectRoundTrip(Self.event(.joined(Samples.agentWithMigrationURI), hostID: Samples.unicodeName))
        try expectRoundTrip(Self.event(.failed(Samples.agentDescription, lastInventory: nil)))
        try expectRoundTrip(
            Self.event(.failed(Samples.agentDescription, lastInventory: Inventory(hostID: "", vms: [])))
        )
        try expectRoundTrip(Self.event(.inventory(Inventory(hostID: "h", vms: [])), hostID: "h"))
        try expectRoundTrip(Self.event(.goingDown(action: .shutdown, reason: "")))
        try expectRoundTrip(Self.event(.goingDown(action: .suspendToBoth, reason: "système en veille ✓")))
        for action in PowerCommand.Action.allCases {
            try expectRoundTrip(Self.event(.goingDown(action: action, reason: "agentctl")))
        }
        try expectRoundTrip(
            Self.event(
                .migrationProgress(
                    MigrationProgress(vmName: "", destinationURI: "", phase: .copying, elapsedMilliseconds: 0)
                )
            )
        )
    }

    @Test func typeByteAndName() {
        #expect(WireMessageType.groupManagerEvent.rawValue == 0x51)
        #expect(WireMessageType.groupManagerEvent.description == "GroupManagerEvent")
    }

    @Test func kindBytesAreStable() {
        let kinds = Self.everyEvent.map { payloadBytes(Self.event($0, hostID: "h")).getInteger(at: 3, as: UInt8.self) }
        #expect(kinds == [1, 2, 3, 4, 5, 6])
    }

    @Test func layouts() {
        #expect(hex(payloadBytes(Self.event(.resumed, hostID: "h"))) == "000168" + "05" + "0000")
        #expect(
            hex(payloadBytes(Self.event(.goingDown(action: .suspendToDisk, reason: "ab"), hostID: "h")))
                == "000168" + "04" + "02" + "00026162" + "0000"
        )
        // An embedded payload is a u32 length, then the payload exactly as its own frame carries it.
        let inventory = payloadBytes(.inventory(Samples.debianInventory))
        #expect(
            hex(payloadBytes(Self.event(.inventory(Samples.debianInventory), hostID: "h")))
                == "000168" + "02" + hex(ByteBuffer(integer: UInt32(inventory.readableBytes))) + hex(inventory) + "0000"
        )
        let progress = payloadBytes(.migrationProgress(Self.migrationProgress))
        #expect(
            hex(payloadBytes(Self.event(.migrationProgress(Self.migrationProgress), hostID: "h")))
                == "000168" + "06" + hex(ByteBuffer(integer: UInt32(progress.readableBytes))) + hex(progress) + "0000"
        )
        // The agent description is Hello's, then its migration URI.
        var hello = ByteBuffer()
        WireMessage.hello(Hello(role: .agent, softwareVersion: "", nodeName: "", agent: Samples.agentDescription))
            .encodePayload(into: &hello)
        let agent = hello.dropping(1 + 1 + 1 + 2 + 2 + 1).prefix(hello.readableBytes - 8 - 2)
        #expect(
            hex(payloadBytes(Self.event(.joined(Samples.agentDescription), hostID: "h")))
                == "000168" + "01" + hex(agent) + "0000" + "0000"
        )
    }

    @Test func aLongReasonIsCutAtAScalarBoundary() throws {
        // 200 two-byte scalars: 400 bytes, cut to 128 scalars (256 bytes), as PowerNotice's.
        let message = Self.event(.goingDown(action: .suspendToRam, reason: String(repeating: "é", count: 200)))
        let decoded = try decodePayload(.groupManagerEvent, payloadBytes(message))
        #expect(decoded == Self.event(.goingDown(action: .suspendToRam, reason: String(repeating: "é", count: 128))))
    }

    @Test func anOverlongReasonIsRejected() {
        var payload = hexBytes("0001 68 04 01")
        payload.writeInteger(UInt16(257))
        payload.writeRepeatingByte(0x61, count: 257)
        payload.writeInteger(UInt16(0))
        #expect(throws: WireError.invalidValue(message: .groupManagerEvent, field: "reason.length", value: 257)) {
            try decodePayload(.groupManagerEvent, payload)
        }
    }

    @Test func anEmptyHostIDIsRejected() {
        #expect(throws: WireError.invalidValue(message: .groupManagerEvent, field: "hostID", value: 0)) {
            try decodePayload(.groupManagerEvent, hexBytes("0000 05 0000"))
        }
    }

    @Test(arguments: [UInt8(0), 7, 0xFF])
    func anUnknownKindIsRejected(kind: UInt8) throws {
        #expect(throws: WireError.invalidValue(message: .groupManagerEvent, field: "kind", value: UInt64(kind))) {
            try decodePayload(.groupManagerEvent, try Self.goldenPayload().settingByte(kind, at: 18))
        }
    }

    @Test(arguments: [UInt8(0), 5, 0xFF])
    func anUnknownActionIsRejected(action: UInt8) {
        var payload = hexBytes("0001 68 04")
        payload.writeInteger(action)
        payload.writeBytes([0, 0, 0, 0])  // reason "", extension area
        #expect(throws: WireError.invalidValue(message: .groupManagerEvent, field: "action", value: UInt64(action))) {
            try decodePayload(.groupManagerEvent, payload)
        }
    }

    @Test func invalidBytesOfTheAgentNameThisMessage() throws {
        #expect(throws: WireError.invalidValue(message: .groupManagerEvent, field: "wake.macAddress", value: 2)) {
            try decodePayload(.groupManagerEvent, try Self.goldenPayload().settingByte(2, at: 79))
        }
        #expect(throws: WireError.invalidValue(message: .groupManagerEvent, field: "wake.drivers", value: 9)) {
            try decodePayload(.groupManagerEvent, try Self.goldenPayload().settingByte(9, at: 117))
        }
        #expect(throws: WireError.invalidValue(message: .groupManagerEvent, field: "lastInventory", value: 2)) {
            try decodePayload(.groupManagerEvent, try Self.goldenPayload().settingByte(2, at: 160))
        }
    }

    @Test func invalidBytesInsideTheEmbeddedInventoryNameInventory() throws {
        #expect(throws: WireError.invalidValue(message: .inventory, field: "vms.state", value: 9)) {
            try decodePayload(.groupManagerEvent, try Self.goldenPayload().settingByte(9, at: 212))
        }
    }

    @Test func anEmbeddedPayloadCannotReadPastItsLength() throws {
        // Length 59 of 60: the inventory's extension area lacks a byte, though the outer one follows.
        #expect(throws: WireError.truncated(message: .inventory, field: "extensions")) {
            try decodePayload(.groupManagerEvent, try Self.goldenPayload().settingByte(59, at: 164))
        }
        // A length past the end of the payload.
        #expect(throws: WireError.truncated(message: .groupManagerEvent, field: "lastInventory")) {
            try decodePayload(.groupManagerEvent, try Self.goldenPayload().settingByte(1, at: 162))
        }
        #expect(throws: WireError.truncated(message: .groupManagerEvent, field: "inventory")) {
            try decodePayload(.groupManagerEvent, hexBytes("0001 68 02 000000"))
        }
    }

    @Test func bytesLeftInsideAnEmbeddedPayloadAreItsTrailingBytes() {
        let inventory = payloadBytes(.inventory(Samples.debianInventory))
        var payload = hexBytes("0001 68 02")
        payload.writeInteger(UInt32(inventory.readableBytes + 1))
        payload.writeImmutableBuffer(inventory)
        payload.writeInteger(UInt8(0))
        payload.writeInteger(UInt16(0))
        #expect(throws: WireError.trailingBytes(message: .inventory, count: 1)) {
            try decodePayload(.groupManagerEvent, payload)
        }
    }

    @Test func everyPrefixIsRejected() {
        let messages = [Samples.goldenGroupManagerEventFailed.message] + Self.everyEvent.map { Self.event($0) }
        for message in messages {
            let payload = payloadBytes(message)
            for length in 0..<payload.readableBytes {
                #expect(throws: WireError.self, "prefix of \(length) bytes") {
                    try decodePayload(.groupManagerEvent, payload.prefix(length))
                }
            }
        }
    }

    @Test func trailingBytesAreRejected() {
        for message in [Samples.goldenGroupManagerEventFailed.message] + Self.everyEvent.map({ Self.event($0) }) {
            var payload = payloadBytes(message)
            payload.writeInteger(UInt8(0))
            #expect(throws: WireError.trailingBytes(message: .groupManagerEvent, count: 1)) {
                try decodePayload(.groupManagerEvent, payload)
            }
        }
    }
}
