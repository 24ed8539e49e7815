import Energy
import Testing

@Suite struct MagicPacketTests {
    @Test func parsesColonAndDashFormsInEitherCase() throws {
        let colon = try #require(MagicPacket(mac: "52:54:00:AB:cd:0f"))
        #expect(colon.mac == [0x52, 0x54, 0x00, 0xAB, 0xCD, 0x0F])
        #expect(MagicPacket(mac: "52-54-00-ab-cd-0f") == colon)
        for bad in [
            "", "52:54:00:ab:cd", "52:54:00:ab:cd:0g", "525400abcd0f", "52:54:00:ab:cd:0f:11", "5:54:00:ab:cd:0f",
        ] {
            #expect(MagicPacket(mac: bad) == nil, "\(bad)")
        }
    }

    @Test func isSixOnesAndSixteenCopiesOfTheMAC() throws {
        let packet = try #require(MagicPacket(mac: "02:74:6c:00:00:03"))
        let bytes = packet.bytes
        #expect(bytes.count == 102)
        #expect(bytes.prefix(6).allSatisfy { $0 == 0xFF })
        for copy in 0..<16 {
            #expect(Array(bytes[(6 + 6 * copy)..<(12 + 6 * copy)]) == packet.mac)
        }
    }

    @Test func recognisesItsOwnPacketOnlyWithTheRightMAC() throws {
        let mine = try #require(MagicPacket(mac: "02:74:6c:00:00:03"))
        let other = try #require(MagicPacket(mac: "02:74:6c:00:00:04"))
        #expect(mine.isContained(in: mine.bytes))
        #expect(mine.isContained(in: [0x01, 0x02] + mine.bytes + [0xAA, 0xBB, 0xCC, 0xDD]))
        #expect(!mine.isContained(in: other.bytes))
        #expect(!mine.isContained(in: Array(mine.bytes.dropLast())))
        #expect(!mine.isContained(in: []))
    }
}
