/// An IPv4 network in CIDR form, e.g. 192.168.122.0/24.
///
/// Usable hosts exclude the network and broadcast addresses, except for /31 (RFC 3021 point-to-point: both
/// addresses are hosts) and /32 (a single routed host address), where there is no broadcast to exclude.
public struct IPv4Subnet: Hashable, Sendable, CustomStringConvertible {
    public let network: IPv4Address
    public let prefixLength: Int

    /// libvirt's default NAT network, which Snooze also uses as its default VM subnet.
    public static let defaultVMSubnet = IPv4Subnet(checkedNetwork: IPv4Address(192, 168, 122, 0), prefixLength: 24)

    /// Rejects host bits in `network` rather than masking them off: "192.168.122.5/24" is more likely a typo
    /// than a request for 192.168.122.0/24.
    public init(network: IPv4Address, prefixLength: Int) throws(IPv4SubnetError) {
        guard (0...32).contains(prefixLength) else {
            throw .prefixLengthOutOfRange(text: "\(network)/\(prefixLength)", prefixLength: String(prefixLength))
        }
        let mask = Self.mask(prefixLength: prefixLength)
        guard network.value & ~mask == 0 else {
            throw .hostBitsSet(
                network: network,
                prefixLength: prefixLength,
                expected: IPv4Address(network.value & mask)
            )
        }
        self.init(checkedNetwork: network, prefixLength: prefixLength)
    }

    /// Parses "a.b.c.d/n" strictly: the prefix length is required and is a plain decimal 0...32.
    public init(parsing text: some StringProtocol) throws(IPv4SubnetError) {
        let whole = String(text)
        let parts = whole.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw .missingPrefixLength(text: whole)
        }
        let address: IPv4Address
        do {
            address = try IPv4Address(parsing: parts[0])
        } catch {
            throw .invalidAddress(error)
        }
        let lengthText = parts[1]
        guard !lengthText.isEmpty, lengthText.utf8.count <= 2,
            lengthText.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            let length = Int(lengthText), length <= 32
        else {
            throw .prefixLengthOutOfRange(text: whole, prefixLength: String(lengthText))
        }
        try self.init(network: address, prefixLength: length)
    }

    private init(checkedNetwork: IPv4Address, prefixLength: Int) {
        network = checkedNetwork
        self.prefixLength = prefixLength
    }

    private static func mask(prefixLength: Int) -> UInt32 {
        prefixLength == 0 ? 0 : UInt32.max << UInt32(32 - prefixLength)
    }

    public var mask: IPv4Address { IPv4Address(Self.mask(prefixLength: prefixLength)) }

    /// The last address of the subnet; only a broadcast address for prefixes up to /30.
    public var lastAddress: IPv4Address { IPv4Address(network.value | ~mask.value) }

    public var addressCount: Int { 1 << (32 - prefixLength) }

    public func contains(_ address: IPv4Address) -> Bool {
        address.value & mask.value == network.value
    }

    public func overlaps(_ other: IPv4Subnet) -> Bool {
        contains(other.network) || other.contains(network)
    }

    /// The addresses a VM may be given (see the type's note for /31 and /32).
    public var usableHosts: ClosedRange<IPv4Address> {
        if prefixLength >= 31 {
            return network...lastAddress
        }
        return IPv4Address(network.value + 1)...IPv4Address(lastAddress.value - 1)
    }

    public var usableHostCount: Int {
        prefixLength >= 31 ? addressCount : addressCount - 2
    }

    public var description: String { "\(network)/\(prefixLength)" }
}
