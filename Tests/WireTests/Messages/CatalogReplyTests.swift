import NIOCore
import Testing
import Wire

@Suite struct CatalogReplyTests {
    static let flavor = CatalogReply.Flavor(id: 1, name: "tiny", virtualCPUs: 1, memoryBytes: 256 << 20, diskBytes: 0)
    static let image = CatalogReply.Image(
        id: .max,
        name: Samples.unicodeName,
        path: "/srv/images/\(Samples.unicodeName).img",
        format: "raw",
        sizeBytes: .max,
        virtualSizeBytes: 0,
        sha256: String(repeating: "ab", count: 32),
        addedAtUnixMilliseconds: 1,
        vmCount: 0
    )

    @Test func roundTrips() throws {
        try expectRoundTrip(.catalogReply(CatalogReply()), requestID: 1, flags: .response)
        try expectRoundTrip(.catalogReply(CatalogReply(flavors: [Self.flavor])), requestID: 2, flags: .response)
        try expectRoundTrip(.catalogReply(CatalogReply(images: [Self.image])), requestID: 3, flags: .response)
        try expectRoundTrip(
            .catalogReply(CatalogReply(flavors: [Self.flavor, Self.flavor], images: [Self.image, Self.image])),
            requestID: 4,
            flags: .response
        )
    }

    @Test func typeByteAndName() {
        #expect(WireMessageType.catalogReply.rawValue == 0x47)
        #expect(WireMessageType.catalogReply.description == "CatalogReply")
    }

    @Test func anEmptyCatalogIsTwoEmptyListsAndTheExtensionArea() {
        #expect(hex(payloadBytes(.catalogReply(CatalogReply()))) == "000000000000")
    }

    @Test func everyPrefixIsRejected() throws {
        let payload = payloadBytes(Samples.goldenCatalogReply.message)
        for length in 0..<payload.readableBytes {
            #expect(throws: WireError.self, "prefix of \(length) bytes") {
                try decodePayload(.catalogReply, payload.prefix(length))
            }
        }
    }

    @Test func absurdCountsAreRejected() {
        #expect(
            throws: WireError.absurdCount(message: .catalogReply, field: "flavors", count: 1000, remainingBytes: 4)
        ) {
            try decodePayload(.catalogReply, hexBytes("03e8 0000 0000"))
        }
        #expect(
            throws: WireError.absurdCount(message: .catalogReply, field: "images", count: 2, remainingBytes: 2)
        ) {
            try decodePayload(.catalogReply, hexBytes("0000 0002 0000"))
        }
    }

    @Test func trailingBytesAreRejected() {
        var payload = payloadBytes(.catalogReply(CatalogReply()))
        payload.writeInteger(UInt8(0))
        #expect(throws: WireError.trailingBytes(message: .catalogReply, count: 1)) {
            try decodePayload(.catalogReply, payload)
        }
    }
}
