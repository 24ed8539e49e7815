import Foundation
import NIOCore
import Testing
import Wire

// Helpers shared by the Wire tests: round trips through the real pipeline decoder, payload and frame builders
// that do not use the encoder (negative tests must not depend on the code under test), and fixture loading.

/// Encodes with WireEnvelope.encode and decodes with WireMessageDecoder, which must consume every byte.
func roundTrip(
    _ envelope: WireEnvelope,
    maximumPayloadLength: Int = WireFrameDecoder.defaultMaximumPayloadLength
)
    throws -> WireEnvelope
{
    var buffer = ByteBuffer()
    envelope.encode(into: &buffer)
    var decoder = WireMessageDecoder(maximumPayloadLength: maximumPayloadLength)
    let decoded = try #require(try decoder.decode(buffer: &buffer))
    #expect(buffer.readableBytes == 0, "the decoder left bytes of a complete frame")
    #expect(try decoder.decodeLast(buffer: &buffer, seenEOF: true) == nil)
    return decoded
}

/// Asserts that a message survives a full-frame round trip unchanged, with the given frame fields.
func expectRoundTrip(
    _ message: WireMessage,
    requestID: UInt32 = 0x0102_0304,
    flags: WireFrameFlags = [],
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let envelope = WireEnvelope(flags: flags, requestID: requestID, message: message)
    let decoded = try roundTrip(envelope)
    #expect(decoded == envelope, sourceLocation: sourceLocation)
    #expect(decoded.message.type == message.type, sourceLocation: sourceLocation)
}

/// Decodes `payload` as a message of `type`, exactly as WireEnvelope(frame:) does.
func decodePayload(_ type: WireMessageType, _ payload: ByteBuffer) throws(WireError) -> WireMessage {
    var payload = payload
    return try WireMessage.decode(type: type, payload: &payload)
}

/// The payload bytes of a message (fixed fields and extension area), without a frame header.
func payloadBytes(_ message: WireMessage) -> ByteBuffer {
    var buffer = ByteBuffer()
    message.encodePayload(into: &buffer)
    return buffer
}

/// A frame written by hand: header fields as given, then the payload; `length` overrides the true length.
func frameBytes(
    magic: UInt16 = 0x5450,
    version: UInt8 = 1,
    type: UInt8,
    flags: UInt8 = 0,
    requestID: UInt32 = 0,
    length: UInt32? = nil,
    payload: ByteBuffer
) -> ByteBuffer {
    var buffer = ByteBuffer()
    buffer.writeInteger(magic)
    buffer.writeInteger(version)
    buffer.writeInteger(type)
    buffer.writeInteger(flags)
    buffer.writeInteger(requestID)
    buffer.writeInteger(length ?? UInt32(payload.readableBytes))
    buffer.writeImmutableBuffer(payload)
    return buffer
}

/// Bytes from a hex string; whitespace and `#` comments (to the end of the line) are ignored.
func hexBytes(_ text: String) -> ByteBuffer {
    var digits: [UInt8] = []
    var inComment = false
    for byte in text.utf8 {
        if byte == UInt8(ascii: "\n") { inComment = false }
        if inComment || byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\t") {
            continue
        }
        if byte == UInt8(ascii: "#") {
            inComment = true
            continue
        }
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digits.append(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digits.append(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digits.append(byte - UInt8(ascii: "A") + 10)
        default: preconditionFailure("not a hex digit: \(UnicodeScalar(byte))")
        }
    }
    precondition(digits.count.isMultiple(of: 2), "odd number of hex digits")
    var buffer = ByteBuffer()
    for index in stride(from: 0, to: digits.count, by: 2) {
        buffer.writeInteger(digits[index] << 4 | digits[index + 1])
    }
    return buffer
}

/// Lowercase hex of the readable bytes, for readable failure messages.
func hex(_ buffer: ByteBuffer) -> String {
    buffer.readableBytesView.map { byte in
        let digits = String(byte, radix: 16)
        return digits.count == 1 ? "0" + digits : digits
    }.joined()
}

/// The golden byte fixtures in Tests/WireTests/Fixtures.
enum Fixture {
    static func url(_ name: String, subdirectory: String = "Fixtures") throws -> URL {
        try #require(
            Bundle.module.url(forResource: name, withExtension: "hex", subdirectory: subdirectory),
            "missing fixture \(subdirectory)/\(name).hex"
        )
    }

    static func bytes(_ name: String, subdirectory: String = "Fixtures") throws -> ByteBuffer {
        hexBytes(try String(contentsOf: try url(name, subdirectory: subdirectory), encoding: .utf8))
    }

    /// Every `.hex` file of a fixture folder, by name.
    static func all(in subdirectory: String) throws -> [(name: String, bytes: ByteBuffer)] {
        let folder = try #require(Bundle.module.resourceURL).appendingPathComponent(subdirectory)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".hex") }
            .sorted()
        return try names.map { file in
            let name = String(file.dropLast(4))
            return (name, try bytes(name, subdirectory: subdirectory))
        }
    }
}

extension ByteBuffer {
    /// A copy with one byte replaced, for corrupting a known-good payload at a documented offset.
    func settingByte(_ value: UInt8, at offset: Int) -> ByteBuffer {
        var copy = self
        copy.setInteger(value, at: self.readerIndex + offset)
        return copy
    }

    /// The first `count` readable bytes.
    func prefix(_ count: Int) -> ByteBuffer {
        self.getSlice(at: self.readerIndex, length: count)!
    }

    /// The readable bytes from `offset` on.
    func dropping(_ offset: Int) -> ByteBuffer {
        self.getSlice(at: self.readerIndex + offset, length: self.readableBytes - offset)!
    }
}
