import Foundation
import Testing
import Zlib

/// zlib through libz: round trips, smaller than the input for text, the header Python expects, and hostile
/// streams (garbage, cut short, a bomb past the limit) refused with an error, never a crash.
@Suite struct ZlibStreamTests {
    static let text = Array(String(repeating: "<node component_id=\"urn:publicid:IDN+torpor+node+host-1\"/>\n", count: 200).utf8)

    @Test func textRoundTripsAndShrinks() throws {
        let compressed = try ZlibStream.compress(Self.text)
        #expect(compressed.count < Self.text.count / 10)
        #expect(compressed.first == 0x78, "a zlib header, as Python's zlib.decompress reads")
        #expect(try ZlibStream.decompress(compressed, limit: Self.text.count) == Self.text)
    }

    @Test func emptyAndIncompressibleInputsRoundTrip() throws {
        #expect(try ZlibStream.decompress(try ZlibStream.compress([]), limit: 0) == [])
        var generator = SystemRandomNumberGenerator()
        let noise = (0..<70_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        #expect(try ZlibStream.decompress(try ZlibStream.compress(noise), limit: noise.count) == noise)
    }

    @Test func aStreamLargerThanTheLimitIsRefused() throws {
        let bomb = try ZlibStream.compress([UInt8](repeating: 0, count: 1 << 20))
        #expect(bomb.count < 2000)
        #expect(throws: ZlibError.tooLarge(limit: 4096)) { try ZlibStream.decompress(bomb, limit: 4096) }
    }

    @Test func garbageAndCutStreamsAreRefused() throws {
        let good = try ZlibStream.compress(Self.text)
        #expect(throws: ZlibError.self) { try ZlibStream.decompress(Array("not zlib".utf8), limit: 1000) }
        for length in stride(from: 0, to: good.count - 1, by: 5) {
            #expect(throws: ZlibError.self) { try ZlibStream.decompress(Array(good.prefix(length)), limit: 1 << 16) }
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            var garbled = good
            garbled[Int.random(in: 0..<garbled.count, using: &generator)] ^= UInt8.random(in: 1...255, using: &generator)
            _ = try? ZlibStream.decompress(garbled, limit: 1 << 16)
        }
    }
}
