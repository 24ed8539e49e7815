import Testing

@testable import Manager

/// IPv4Subnet parsing and usable host ranges.
@Suite struct SubnetHostAddressTests {
    @Test(arguments: [
        // /24 and /30 exclude network and broadcast.
        ("192.168.122.0/24", "192.168.122.1", "192.168.122.254", 254),
        ("10.0.0.0/30", "10.0.0.1", "10.0.0.2", 2),
        ("10.0.0.0/16", "10.0.0.1", "10.0.255.254", 65_534),
        // /31 is RFC 3021 point-to-point and /32 a single host: no broadcast, every address usable.
        ("10.0.0.4/31", "10.0.0.4", "10.0.0.5", 2),
        ("10.0.0.7/32", "10.0.0.7", "10.0.0.7", 1),
    ])
    func usableHostRange(cidr: String, first: String, last: String, count: Int) throws {
        let subnet = try IPv4Subnet(parsing: cidr)
        #expect(subnet.description == cidr)
        #expect(subnet.usableHosts == (try IPv4Address(parsing: first))...(try IPv4Address(parsing: last)))
        #expect(subnet.usableHostCount == count)
    }

    @Test func containsAddressesOfItsNetworkOnly() throws {
        let subnet = IPv4Subnet.defaultVMSubnet
        #expect(subnet.description == "192.168.122.0/24")
        #expect(subnet.contains(try IPv4Address(parsing: "192.168.122.0")))
        #expect(subnet.contains(try IPv4Address(parsing: "192.168.122.255")))
        #expect(!subnet.contains(try IPv4Address(parsing: "192.168.123.0")))
        #expect(!subnet.usableHosts.contains(try IPv4Address(parsing: "192.168.122.255")))
    }

    @Test(arguments: [
        ("192.168.122.0", IPv4SubnetError.missingPrefixLength(text: "192.168.122.0")),
        ("192.168.122.0/24/1", .missingPrefixLength(text: "192.168.122.0/24/1")),
        ("192.168.122.0/", .prefixLengthOutOfRange(text: "192.168.122.0/", prefixLength: "")),
        ("192.168.122.0/33", .prefixLengthOutOfRange(text: "192.168.122.0/33", prefixLength: "33")),
        ("192.168.122.0/+8", .prefixLengthOutOfRange(text: "192.168.122.0/+8", prefixLength: "+8")),
        ("192.168.122/24", .invalidAddress(.wrongComponentCount(text: "192.168.122", count: 3))),
        (
            "192.168.122.5/24",
            .hostBitsSet(
                network: IPv4Address(192, 168, 122, 5),
                prefixLength: 24,
                expected: IPv4Address(192, 168, 122, 0)
            )
        ),
    ])
    func rejectsMalformedCIDR(text: String, expected: IPv4SubnetError) {
        #expect(throws: expected) { try IPv4Subnet(parsing: text) }
    }

    @Test func hostBitsErrorSuggestsTheNetwork() {
        let error = IPv4SubnetError.hostBitsSet(
            network: IPv4Address(192, 168, 122, 5),
            prefixLength: 24,
            expected: IPv4Address(192, 168, 122, 0)
        )
        #expect(error.description.hasSuffix("did you mean 192.168.122.0/24?"))
    }
}
