import Testing

@testable import Manager

@Suite struct IPv4AddressTests {
    @Test(arguments: [
        ("0.0.0.0", UInt32(0)),
        ("10.0.0.1", 0x0A00_0001),
        ("192.168.122.6", 0xC0A8_7A06),
        ("255.255.255.255", 0xFFFF_FFFF),
    ])
    func parsesDottedQuad(text: String, value: UInt32) throws {
        let address = try IPv4Address(parsing: text)
        #expect(address.value == value)
        #expect(address.description == text)
    }

    @Test(arguments: [
        ("1.2.3", IPv4AddressParseError.wrongComponentCount(text: "1.2.3", count: 3)),
        ("1.2.3.4.5", .wrongComponentCount(text: "1.2.3.4.5", count: 5)),
        ("", .wrongComponentCount(text: "", count: 1)),
        ("1..3.4", .emptyComponent(text: "1..3.4", position: 2)),
        ("1.2.3.", .emptyComponent(text: "1.2.3.", position: 4)),
        ("1.2.3.x", .invalidCharacter(text: "1.2.3.x", component: "x")),
        (" 1.2.3.4", .invalidCharacter(text: " 1.2.3.4", component: " 1")),
        ("1.2.3.+4", .invalidCharacter(text: "1.2.3.+4", component: "+4")),
        ("1.2.3.-4", .invalidCharacter(text: "1.2.3.-4", component: "-4")),
        ("010.0.0.1", .leadingZero(text: "010.0.0.1", component: "010")),
        ("1.2.3.256", .componentOutOfRange(text: "1.2.3.256", component: "256")),
        ("1.2.3.1000", .componentOutOfRange(text: "1.2.3.1000", component: "1000")),
    ])
    func rejectsMalformedText(text: String, expected: IPv4AddressParseError) {
        #expect(throws: expected) { try IPv4Address(parsing: text) }
    }

    @Test func errorDescriptionNamesInputAndProblem() {
        #expect(
            IPv4AddressParseError.componentOutOfRange(text: "1.2.3.256", component: "256").description
                == "invalid IPv4 address \"1.2.3.256\": 256 is greater than 255"
        )
    }

    @Test func ordersByNumericValue() throws {
        #expect(try IPv4Address(parsing: "10.0.0.9") < IPv4Address(parsing: "10.0.0.10"))
        #expect(IPv4Address(192, 168, 122, 6).octets == [192, 168, 122, 6])
    }
}
