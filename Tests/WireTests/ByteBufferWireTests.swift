import NIOCore
import Testing
import Wire

/// The field codecs of ByteBuffer+Wire.swift, used through a message where the codec is internal.
@Suite struct ByteBufferWireTests {
    @Test func maximumLengthStringsRoundTripExactly() throws {
        for string in [Samples.maxString, Samples.maxMultibyteString] {
            var buffer = ByteBuffer()
            buffer.writeWireString(string)
            #expect(buffer.readableBytes == 2 + 65_535)
            #expect(try buffer.readWireString(.hello, "s") == string)
            #expect(buffer.readableBytes == 0)
        }
    }

    @Test func overlongStringIsCutAtAScalarBoundary() throws {
        // 65534 ASCII bytes then "é" (2 bytes): cutting at 65535 bytes would split the "é".
        let string = String(repeating: "a", count: 65_534) + "é" + "tail"
        var buffer = ByteBuffer()
        buffer.writeWireString(string)
        #expect(buffer.getInteger(at: 0, as: UInt16.self) == 65_534)
        #expect(try buffer.readWireString(.hello, "s") == String(repeating: "a", count: 65_534))

        // A 4-byte scalar straddling the limit backs off all of its bytes.
        let emoji = String(repeating: "b", count: 65_533) + "🚀"
        buffer.clear()
        buffer.writeWireString(emoji)
        #expect(try buffer.readWireString(.hello, "s") == String(repeating: "b", count: 65_533))

        // A scalar ending exactly at the limit is kept.
        let exact = String(repeating: "c", count: 65_532) + "€" + "d"
        buffer.clear()
        buffer.writeWireString(exact)
        #expect(try buffer.readWireString(.hello, "s") == String(repeating: "c", count: 65_532) + "€")
    }

    @Test(
        arguments: [
            [0x80],  // lone continuation byte
            [0xC0, 0xAF],  // overlong "/"
            [0xE0, 0x80, 0xAF],  // overlong "/" in 3 bytes
            [0xED, 0xA0, 0x80],  // surrogate U+D800
            [0xF4, 0x90, 0x80, 0x80],  // above U+10FFFF
            [0xE2, 0x82],  // truncated "€"
            [0xFF],
            [0x61, 0xFE, 0x62],
        ] as [[UInt8]]
    )
    func invalidUTF8IsRejected(bytes: [UInt8]) {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt16(bytes.count))
        buffer.writeBytes(bytes)
        #expect(throws: WireError.invalidUTF8(message: .inventory, field: "vms.name")) {
            try buffer.readWireString(.inventory, "vms.name")
        }
        var long = ByteBuffer()
        long.writeInteger(UInt32(bytes.count))
        long.writeBytes(bytes)
        #expect(throws: WireError.invalidUTF8(message: .commandResult, field: "detail")) {
            try long.readWireLongString(.commandResult, "detail")
        }
    }

    @Test func validUTF8EdgesAreAccepted() throws {
        for string in ["", "\u{0}", "\u{7F}", "\u{80}", "\u{7FF}", "\u{FFFF}", "\u{10FFFF}", Samples.unicodeName] {
            var buffer = ByteBuffer()
            buffer.writeWireString(string)
            #expect(try buffer.readWireString(.hello, "s") == string)
        }
    }

    @Test func boolAcceptsOnlyZeroAndOne() throws {
        var buffer = ByteBuffer(bytes: [0, 1, 2])
        #expect(try buffer.readWireBool(.hello, "b") == false)
        #expect(try buffer.readWireBool(.hello, "b") == true)
        #expect(throws: WireError.invalidValue(message: .hello, field: "b", value: 2)) {
            try buffer.readWireBool(.hello, "b")
        }
    }

    @Test func floatsAreTheirBigEndianBitPatterns() throws {
        var buffer = ByteBuffer()
        buffer.writeWireFloat32(1.3)
        buffer.writeWireFloat64(0.37)
        #expect(hex(buffer) == "3fa66666" + "3fd7ae147ae147ae")
        #expect(try buffer.readWireFloat32(.monitoringReport, "f") == 1.3)
        #expect(try buffer.readWireFloat64(.samplesReply, "f") == 0.37)
    }

    @Test func countIsCheckedAgainstRemainingBytes() throws {
        var buffer = ByteBuffer(bytes: [0x00, 0x03, 1, 2, 3, 4, 5, 6, 7, 8])
        #expect(throws: WireError.absurdCount(message: .inventory, field: "vms", count: 3, remainingBytes: 8)) {
            try buffer.readWireCount(as: UInt16.self, minimumElementSize: 3, .inventory, "vms")
        }
        var fits = ByteBuffer(bytes: [0x00, 0x02, 1, 2, 3, 4, 5, 6])
        #expect(try fits.readWireCount(as: UInt16.self, minimumElementSize: 3, .inventory, "vms") == 2)
        // A minimum element size of 0 still counts each element as a byte.
        var zero = ByteBuffer(bytes: [0x00, 0x05, 1])
        #expect(throws: WireError.absurdCount(message: .inventory, field: "vms", count: 5, remainingBytes: 1)) {
            try zero.readWireCount(as: UInt16.self, minimumElementSize: 0, .inventory, "vms")
        }
    }

    @Test func optionalsUseAPresenceByte() throws {
        var buffer = ByteBuffer()
        buffer.writeWireOptional(UInt32?.none) { $0.writeInteger($1) }
        buffer.writeWireOptional(UInt32?.some(7)) { $0.writeInteger($1) }
        #expect(hex(buffer) == "00" + "01" + "00000007")
        let read = { (buffer: inout ByteBuffer) throws(WireError) -> UInt32 in
            try buffer.readWireInteger(as: UInt32.self, .welcome, "v")
        }
        #expect(try buffer.readWireOptional(.welcome, "o", value: read) == nil)
        #expect(try buffer.readWireOptional(.welcome, "o", value: read) == 7)
    }

    @Test func arraysCarryAU16Count() throws {
        var buffer = ByteBuffer()
        buffer.writeWireArray([UInt16(0xAAAA), 0xBBBB]) { $0.writeInteger($1) }
        #expect(hex(buffer) == "0002" + "aaaa" + "bbbb")
        let values = try buffer.readWireArray(minimumElementSize: 2, .inventory, "a") {
            (buffer: inout ByteBuffer) throws(WireError) -> UInt16 in
            try buffer.readWireInteger(as: UInt16.self, .inventory, "a")
        }
        #expect(values == [0xAAAA, 0xBBBB])
    }

    @Test func frameHeaderReadLeavesTheReaderIndexOnShortInput() {
        var buffer = ByteBuffer(bytes: [0x54, 0x50, 1, 3, 0, 0, 0, 0, 7, 0, 0, 0])
        #expect(buffer.readWireFrameHeader() == nil)
        #expect(buffer.readableBytes == 12)
        buffer.writeInteger(UInt8(0x12))
        #expect(
            buffer.readWireFrameHeader()
                == WireFrameHeader(version: 1, type: 3, flags: [], requestID: 7, payloadLength: 0x12)
        )
    }

    @Test func frameHeaderIsThirteenBigEndianBytes() {
        var buffer = ByteBuffer()
        buffer.writeWireFrameHeader(
            WireFrameHeader(
                version: 1,
                type: 0x31,
                flags: [.response, .ignorable],
                requestID: 0x0A0B_0C0D,
                payloadLength: 258
            )
        )
        #expect(WireFrameHeader.size == 13)
        #expect(hex(buffer) == "5450" + "01" + "31" + "03" + "0a0b0c0d" + "00000102")
    }
}
