import NIOCore
import Testing
import Wire

extension Samples {
    static let goldenHostOrderVMCommand = WireEnvelope(
        requestID: 600,
        message: .hostOrder(
            HostOrder(
                hostID: "0f2c9e8a7b6d4c3b",
                order: .vmCommand(
                    .migrate(
                        VMCommand.Migration(
                            name: "web-01",
                            destinationURI: "qemu+tcp://10.0.0.2/system",
                            method: .live,
                            timeoutSeconds: 300
                        )
                    )
                )
            )
        )
    )
}

extension Samples {
    /// The leader moves host h2 to another group manager.
    static let goldenHostOrderRelease = WireEnvelope(
        requestID: 601,
        message: .hostOrder(HostOrder(hostID: "h2", order: .release))
    )
}

/// HostOrder (0x52): round trips, its bytes, the payloads it embeds, and what a decoder refuses.
@Suite struct HostOrderTests {
    static let everyOrder: [HostOrder.Order] =
        VMCommandTests.everyKind.map { HostOrder.Order.vmCommand($0) }
        + PowerCommand.Action.allCases.map { HostOrder.Order.powerCommand(PowerCommand(action: $0)) }
        + [
            .powerCommand(PowerCommand(action: .shutdown, timeoutSeconds: .max, force: true)),
            .migrationCancel(MigrationCancel(vmName: "web-01")),
            .migrationCancel(MigrationCancel(vmName: "")),
        ]
        + ManagerStatusReply.HostState.allCases.map { HostOrder.Order.setState($0) }
        + [.release]

    static func order(_ order: HostOrder.Order, hostID: String = "0f2c9e8a7b6d4c3b") -> WireMessage {
        .hostOrder(HostOrder(hostID: hostID, order: order))
    }

    /// The golden payload (frame offset - 13). Offsets: kind 18, the VMCommand's length 19–22, its kind 23 and
    /// its migration method 60.
    static func goldenPayload() throws -> ByteBuffer {
        try Fixture.bytes("host-order-vmcommand").dropping(13)
    }

    @Test(arguments: everyOrder)
    func everyOrderRoundTrips(order: HostOrder.Order) throws {
        try expectRoundTrip(Self.order(order), requestID: 600)
    }

    @Test func edgeValuesRoundTrip() throws {
        try expectRoundTrip(Self.order(.setState(.waking), hostID: Samples.unicodeName))
        try expectRoundTrip(Self.order(.vmCommand(.start(domainXML: Samples.domainXML)), hostID: "h"))
        // A domain bigger than a u16 length: the embedded payload has a u32 length.
        let large = String(repeating: Samples.domainXML, count: 100)
        try expectRoundTrip(Self.order(.vmCommand(.start(domainXML: large))))
    }

    @Test func typeByteAndName() {
        #expect(WireMessageType.hostOrder.rawValue == 0x52)
        #expect(WireMessageType.hostOrder.description == "HostOrder")
    }

    @Test func kindBytesAreStable() {
        let orders: [HostOrder.Order] = [
            .vmCommand(.destroy(name: "v")), .powerCommand(PowerCommand(action: .suspendToRam)),
            .migrationCancel(MigrationCancel(vmName: "v")), .setState(.sleeping), .release,
        ]
        let kinds = orders.map { payloadBytes(Self.order($0, hostID: "h")).getInteger(at: 3, as: UInt8.self) }
        #expect(kinds == [1, 2, 3, 4, 5])
    }

    @Test func layouts() {
        #expect(hex(payloadBytes(Self.order(.setState(.sleeping), hostID: "h"))) == "000168" + "04" + "02" + "0000")
        #expect(hex(payloadBytes(Self.order(.release, hostID: "h"))) == "000168" + "05" + "0000")
        // An embedded payload is a u32 length, then the payload exactly as its own frame carries it: a
        // PowerCommand's force travels in its own extension area.
        let command = WireMessage.powerCommand(PowerCommand(action: .shutdown, timeoutSeconds: 30, force: true))
        #expect(hex(payloadBytes(command)) == "04" + "0000001e" + "0001" + "0001" + "00000001" + "01")
        guard case .powerCommand(let power) = command else { return }
        #expect(
            hex(payloadBytes(Self.order(.powerCommand(power), hostID: "h")))
                == "000168" + "02" + "0000000e" + hex(payloadBytes(command)) + "0000"
        )
        let cancel = payloadBytes(.migrationCancel(MigrationCancel(vmName: "ab")))
        #expect(
            hex(payloadBytes(Self.order(.migrationCancel(MigrationCancel(vmName: "ab")), hostID: "h")))
                == "000168" + "03" + "00000006" + hex(cancel) + "0000"
        )
        // The fixture's VMCommand is vmcommand-migrate.hex's payload.
        #expect(
            hex(payloadBytes(Samples.goldenHostOrderVMCommand.message))
                == "0010" + "30663263396538613762366434633362" + "01" + "0000002c"
                + hex(payloadBytes(Samples.goldenMigrate.message)) + "0000"
        )
    }

    @Test func unknownExtensionFieldsOfAnEmbeddedPayloadAreSkipped() throws {
        var command = hexBytes("01 0000000a")  // suspendToRam, 10 s
        command.writeWireExtensionArea([WireExtensionField(tag: 0x7F00, value: ByteBuffer(bytes: [1, 2, 3]))])
        var payload = hexBytes("0001 68 02")
        payload.writeInteger(UInt32(command.readableBytes))
        payload.writeImmutableBuffer(command)
        payload.writeInteger(UInt16(0))
        #expect(
            try decodePayload(.hostOrder, payload)
                == Self.order(.powerCommand(PowerCommand(action: .suspendToRam, timeoutSeconds: 10)), hostID: "h")
        )
    }

    @Test func anEmptyHostIDIsRejected() {
        #expect(throws: WireError.invalidValue(message: .hostOrder, field: "hostID", value: 0)) {
            try decodePayload(.hostOrder, hexBytes("0000 04 01 0000"))
        }
    }

    @Test(arguments: [UInt8(0), 6, 0xFF])
    func anUnknownKindIsRejected(kind: UInt8) throws {
        #expect(throws: WireError.invalidValue(message: .hostOrder, field: "kind", value: UInt64(kind))) {
            try decodePayload(.hostOrder, try Self.goldenPayload().settingByte(kind, at: 18))
        }
    }

    @Test(arguments: [UInt8(0), 5, 0xFF])
    func anUnknownStateIsRejected(state: UInt8) {
        var payload = hexBytes("0001 68 04")
        payload.writeInteger(state)
        payload.writeInteger(UInt16(0))
        #expect(throws: WireError.invalidValue(message: .hostOrder, field: "state", value: UInt64(state))) {
            try decodePayload(.hostOrder, payload)
        }
    }

    @Test func invalidBytesInsideTheEmbeddedCommandNameIt() throws {
        #expect(throws: WireError.invalidValue(message: .vmCommand, field: "kind", value: 9)) {
            try decodePayload(.hostOrder, try Self.goldenPayload().settingByte(9, at: 23))
        }
        #expect(throws: WireError.invalidValue(message: .vmCommand, field: "method", value: 9)) {
            try decodePayload(.hostOrder, try Self.goldenPayload().settingByte(9, at: 60))
        }
    }

    @Test func anEmbeddedPayloadCannotReadPastItsLength() throws {
        // Length 43 of 44: the VMCommand's extension area lacks a byte, though the outer one follows.
        #expect(throws: WireError.truncated(message: .vmCommand, field: "extensions")) {
            try decodePayload(.hostOrder, try Self.goldenPayload().settingByte(43, at: 22))
        }
        // A length past the end of the payload.
        #expect(throws: WireError.truncated(message: .hostOrder, field: "vmCommand")) {
            try decodePayload(.hostOrder, try Self.goldenPayload().settingByte(1, at: 20))
        }
        #expect(throws: WireError.truncated(message: .hostOrder, field: "powerCommand")) {
            try decodePayload(.hostOrder, hexBytes("0001 68 02 00000008 01 0000000a 0000"))
        }
    }

    @Test func bytesLeftInsideAnEmbeddedPayloadAreItsTrailingBytes() {
        #expect(throws: WireError.trailingBytes(message: .migrationCancel, count: 1)) {
            try decodePayload(.hostOrder, hexBytes("0001 68 03 00000007 0002 6162 0000 ff 0000"))
        }
    }

    @Test func everyPrefixIsRejected() {
        let messages = [Samples.goldenHostOrderVMCommand.message] + Self.everyOrder.map { Self.order($0) }
        for message in messages {
            let payload = payloadBytes(message)
            for length in 0..<payload.readableBytes {
                #expect(throws: WireError.self, "prefix of \(length) bytes") {
                    try decodePayload(.hostOrder, payload.prefix(length))
                }
            }
        }
    }

    @Test func trailingBytesAreRejected() {
        for message in [Samples.goldenHostOrderVMCommand.message] + Self.everyOrder.map({ Self.order($0) }) {
            var payload = payloadBytes(message)
            payload.writeInteger(UInt8(0))
            #expect(throws: WireError.trailingBytes(message: .hostOrder, count: 1)) {
                try decodePayload(.hostOrder, payload)
            }
        }
    }
}
