import Testing

@testable import Manager

@Suite struct MACAddressEncodingTests {
    @Test(arguments: [
        ("192.168.122.6", "52:54:c0:a8:7a:06"),
        ("192.168.122.17", "52:54:c0:a8:7a:11"),
        ("10.0.0.1", "52:54:0a:00:00:01"),
        ("0.0.0.0", "52:54:00:00:00:00"),
        ("255.255.255.255", "52:54:ff:ff:ff:ff"),
    ])
    func encodesAndDecodesRoundTrip(ip: String, mac: String) throws {
        let address = try IPv4Address(parsing: ip)
        #expect(MACAddressEncoding.qemu.encode(address) == mac)
        #expect(MACAddressEncoding.qemu.decode(mac) == address)
    }

    @Test func decodesUpperCaseHex() throws {
        #expect(MACAddressEncoding.qemu.decode("52:54:C0:A8:7A:11") == IPv4Address(192, 168, 122, 17))
    }

    @Test(arguments: [
        "54:56:c0:a8:7a:06",  // another prefix (Snooze's example)
        "52:55:c0:a8:7a:06",  // second prefix byte differs
        "52:54:c0:a8:7a",  // five bytes
        "52:54:c0:a8:7a:06:00",  // seven bytes
        "52-54-c0-a8-7a-06",  // wrong separator
        "52:54:c0:a8:7a:6",  // single digit
        "52:54:c0:a8:7a:0g",  // not hex
        "52:54:c0:a8::06",  // empty group
        "",
    ])
    func decodeRejectsForeignOrMalformedMAC(mac: String) {
        #expect(MACAddressEncoding.qemu.decode(mac) == nil)
    }

    @Test func customPrefixIsUsed() throws {
        let encoding = try MACAddressEncoding(prefix: "0a:00")
        #expect(encoding.encode(IPv4Address(10, 0, 0, 1)) == "0a:00:0a:00:00:01")
        #expect(encoding.decode("0a:00:0a:00:00:01") == IPv4Address(10, 0, 0, 1))
        #expect(encoding.decode("52:54:0a:00:00:01") == nil)
    }

    @Test(arguments: [
        ("00:16", MACAddressEncodingError.globallyAdministeredPrefix("00:16")),
        ("54:56", .globallyAdministeredPrefix("54:56")),
        ("53:54", .multicastPrefix("53:54")),
        ("52", .malformedPrefix("52")),
        ("52:54:00", .malformedPrefix("52:54:00")),
        ("5z:54", .malformedPrefix("5z:54")),
    ])
    func prefixMustBeLocallyAdministeredUnicast(prefix: String, expected: MACAddressEncodingError) {
        #expect(throws: expected) { try MACAddressEncoding(prefix: prefix) }
    }
}
