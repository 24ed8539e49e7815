/// Snooze's address hand-off: the VM's IPv4 address is written into the last four bytes of its MAC address, after
/// a two-byte prefix, so a guest can configure networking from its own MAC without DHCP.
/// 192.168.122.6 with prefix 52:54 becomes 52:54:c0:a8:7a:06.
///
/// The prefix's first byte must have the locally-administered bit (0x02) set, so the MACs cannot collide with
/// vendor-assigned ones, and the multicast bit (0x01) clear, since a NIC's own address must be unicast.
public struct MACAddressEncoding: Hashable, Sendable, CustomStringConvertible {
    public let firstPrefixByte: UInt8
    public let secondPrefixByte: UInt8

    /// 52:54, the start of the 52:54:00 prefix QEMU and libvirt use for generated MACs; locally administered.
    public static let qemu = MACAddressEncoding(checkedFirst: 0x52, second: 0x54)

    public init(prefix first: UInt8, _ second: UInt8) throws(MACAddressEncodingError) {
        guard first & 0x01 == 0 else {
            throw .multicastPrefix(Self.hex(first) + ":" + Self.hex(second))
        }
        guard first & 0x02 != 0 else {
            throw .globallyAdministeredPrefix(Self.hex(first) + ":" + Self.hex(second))
        }
        self.init(checkedFirst: first, second: second)
    }

    /// Parses a prefix written like a MAC fragment, "52:54" (hex digits are case-insensitive).
    public init(prefix text: some StringProtocol) throws(MACAddressEncodingError) {
        guard let bytes = Self.parseHexBytes(text, count: 2) else {
            throw .malformedPrefix(String(text))
        }
        try self.init(prefix: bytes[0], bytes[1])
    }

    private init(checkedFirst: UInt8, second: UInt8) {
        firstPrefixByte = checkedFirst
        secondPrefixByte = second
    }

    /// The MAC for `address`, lower-case and colon-separated as libvirt writes it.
    public func encode(_ address: IPv4Address) -> String {
        ([firstPrefixByte, secondPrefixByte] + address.octets).map(Self.hex).joined(separator: ":")
    }

    /// The address carried by `mac`, or nil if it is not six colon-separated hex bytes starting with this prefix.
    public func decode(_ mac: some StringProtocol) -> IPv4Address? {
        guard let bytes = Self.parseHexBytes(mac, count: 6),
            bytes[0] == firstPrefixByte, bytes[1] == secondPrefixByte
        else {
            return nil
        }
        return IPv4Address(bytes[2], bytes[3], bytes[4], bytes[5])
    }

    public var description: String { Self.hex(firstPrefixByte) + ":" + Self.hex(secondPrefixByte) }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]])
    }

    /// Exactly `count` groups of exactly two hex digits separated by single colons; nothing else.
    private static func parseHexBytes(_ text: some StringProtocol, count: Int) -> [UInt8]? {
        let groups = text.split(separator: ":", omittingEmptySubsequences: false)
        guard groups.count == count else {
            return nil
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        for group in groups {
            let utf8 = Array(group.utf8)
            guard utf8.count == 2, let high = hexValue(utf8[0]), let low = hexValue(utf8[1]) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func hexValue(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
