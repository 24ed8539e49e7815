import Foundation
import NIOCore
import Testing
import Wire

@Suite struct WireUUIDTests {
    @Test func parsesAndPrintsTheCanonicalForm() throws {
        let uuid = try #require(WireUUID("0F476E56-67EA-11E1-858E-00216A972A36"))
        #expect(uuid.high == 0x0f47_6e56_67ea_11e1)
        #expect(uuid.low == 0x858e_0021_6a97_2a36)
        #expect(uuid.description == "0f476e56-67ea-11e1-858e-00216a972a36")
        #expect(WireUUID("0f476e5667ea11e1858e00216a972a36") == uuid)
    }

    /// The text matches Foundation's for random UUIDs (lower-cased), and parses back to the same UUID.
    @Test func printsWhatFoundationPrints() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<1_000 {
            let uuid = WireUUID(high: generator.next(), low: generator.next())
            let text = uuid.description
            #expect(WireUUID(text) == uuid)
            let foundation = try #require(UUID(uuidString: text))
            #expect(foundation.uuidString.lowercased() == text)
        }
        #expect(WireUUID(high: 0, low: 0).description == "00000000-0000-0000-0000-000000000000")
        #expect(WireUUID(high: .max, low: .max).description == "ffffffff-ffff-ffff-ffff-ffffffffffff")
    }

    @Test(arguments: [
        "", "0f476e56", "0f476e56-67ea-11e1-858e-00216a972a3", "0f476e56-67ea-11e1-858e-00216a972a366",
        "0g476e56-67ea-11e1-858e-00216a972a36", "{0f476e56-67ea-11e1-858e-00216a972a36}",
    ])
    func rejectsMalformedText(text: String) {
        #expect(WireUUID(text) == nil)
    }

    @Test func bytesAreInTextOrder() throws {
        let uuid = Samples.debianUUID
        #expect(
            uuid.bytes == [
                0x0f, 0x47, 0x6e, 0x56, 0x67, 0xea, 0x11, 0xe1, 0x85, 0x8e, 0x00, 0x21, 0x6a, 0x97, 0x2a, 0x36,
            ]
        )
        #expect(WireUUID(bytes: uuid.bytes) == uuid)
        #expect(WireUUID(bytes: [UInt8](repeating: 0, count: 15)) == nil)
        var buffer = ByteBuffer()
        buffer.writeWireUUID(uuid)
        #expect(Array(buffer.readableBytesView) == uuid.bytes)
        #expect(try buffer.readWireUUID(.inventory, "uuid") == uuid)
    }

    @Test func truncatedUUIDThrows() {
        var buffer = ByteBuffer(bytes: [UInt8](repeating: 1, count: 15))
        #expect(throws: WireError.truncated(message: .inventory, field: "vms.uuid")) {
            try buffer.readWireUUID(.inventory, "vms.uuid")
        }
    }

    @Test func ordersByBytes() {
        let uuids = [Samples.webUUID, .zero, Samples.debianUUID, WireUUID(high: 0, low: 1)]
        #expect(uuids.sorted() == [.zero, WireUUID(high: 0, low: 1), Samples.debianUUID, Samples.webUUID])
    }
}
