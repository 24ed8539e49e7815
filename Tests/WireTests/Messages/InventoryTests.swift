import NIOCore
import Testing
import Wire

@Suite struct InventoryTests {
    @Test func goldenInventoryRoundTrips() throws {
        try expectRoundTrip(Samples.goldenInventory.message)
    }

    @Test func emptyInventoryRoundTrips() throws {
        try expectRoundTrip(.inventory(Inventory(hostID: "", vms: [])))
    }

    @Test(arguments: VMState.allCases)
    func everyVMStateRoundTrips(state: VMState) throws {
        let entry = Inventory.Entry(
            slot: 12,
            uuid: Samples.webUUID,
            name: "web-01",
            state: state,
            virtualCPUs: 2,
            memoryKiB: 2_097_152
        )
        try expectRoundTrip(.inventory(Inventory(hostID: "0f2c9e8a7b6d4c3b", vms: [entry])))
    }

    @Test func edgeValuesRoundTrip() throws {
        let entries = [
            Inventory.Entry(slot: .max, uuid: .zero, name: "", state: .noState, virtualCPUs: 0, memoryKiB: 0),
            Inventory.Entry(
                slot: 0,
                uuid: WireUUID(high: .max, low: .max),
                name: Samples.unicodeName,
                state: .pmSuspended,
                virtualCPUs: .max,
                memoryKiB: .max
            ),
            Inventory.Entry(
                slot: 1,
                uuid: Samples.debianUUID,
                name: Samples.maxMultibyteString,
                state: .crashed,
                virtualCPUs: 1,
                memoryKiB: 1
            ),
        ]
        try expectRoundTrip(.inventory(Inventory(hostID: Samples.maxString, vms: entries)))
    }

    @Test func manyVMsRoundTrip() throws {
        let entries = (0..<2000).map { index in
            Inventory.Entry(
                slot: UInt16(index),
                uuid: WireUUID(high: 0x0f47_6e56_67ea_11e1 &+ UInt64(index), low: 0x858e_0021_6a97_2a36),
                name: "vm-\(index)",
                state: VMState.allCases[index % VMState.allCases.count],
                virtualCPUs: UInt16(1 + index % 16),
                memoryKiB: UInt64(524_288 * (1 + index % 8))
            )
        }
        try expectRoundTrip(.inventory(Inventory(hostID: "0f2c9e8a7b6d4c3b", vms: entries)))
    }

    @Test func uuidIsWrittenInTextOrder() throws {
        // Frame offset 35 of Fixtures/inventory-2vms.hex is vms[0].uuid (payload offset 22).
        let payload = payloadBytes(Samples.goldenInventory.message)
        #expect(hex(payload.dropping(22).prefix(16)) == "0f476e5667ea11e1858e00216a972a36")
    }

    // Payload offsets from Fixtures/inventory-2vms.hex (frame offset - 13).

    @Test func invalidStateIsRejected() throws {
        let payload = try Fixture.bytes("inventory-2vms").dropping(13)
        #expect(throws: WireError.invalidValue(message: .inventory, field: "vms.state", value: 8)) {
            try decodePayload(.inventory, payload.settingByte(8, at: 84))
        }
    }

    @Test func invalidUTF8NameIsRejected() throws {
        // An overlong encoding of "/" (C0 AF) in place of "de" of "debian1".
        let payload = try Fixture.bytes("inventory-2vms").dropping(13).settingByte(0xC0, at: 40).settingByte(
            0xAF,
            at: 41
        )
        #expect(throws: WireError.invalidUTF8(message: .inventory, field: "vms.name")) {
            try decodePayload(.inventory, payload)
        }
    }

    @Test func absurdCountIsRejected() throws {
        let payload = try Fixture.bytes("inventory-2vms").dropping(13).settingByte(0x30, at: 18)
        #expect(
            throws: WireError.absurdCount(message: .inventory, field: "vms", count: 0x3002, remainingBytes: 77)
        ) {
            try decodePayload(.inventory, payload)
        }
    }

    @Test func nameRunningIntoTheNextEntryIsTruncated() throws {
        // vms[1].name claims 60 bytes; the count check passes (2 × 31 ≤ 77) but the name runs off the end.
        let payload = try Fixture.bytes("inventory-2vms").dropping(13).settingByte(60, at: 77)
        #expect(throws: WireError.truncated(message: .inventory, field: "vms.name")) {
            try decodePayload(.inventory, payload)
        }
    }
}
