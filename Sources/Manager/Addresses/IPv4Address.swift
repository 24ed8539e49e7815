/// An IPv4 address held as its 32-bit value (first octet in the high byte), so ordering, masking and
/// counting are plain integer operations.
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) {
        self.value = value
    }

    public init(_ first: UInt8, _ second: UInt8, _ third: UInt8, _ fourth: UInt8) {
        value = UInt32(first) << 24 | UInt32(second) << 16 | UInt32(third) << 8 | UInt32(fourth)
    }

    /// Parses dotted-quad notation strictly: exactly four decimal numbers 0...255, no signs, spaces or leading
    /// zeros (inet_aton reads "010" as octal 8, so accepting it would silently disagree with other tools).
    public init(parsing text: some StringProtocol) throws(IPv4AddressParseError) {
        let whole = String(text)
        let components = whole.split(separator: ".", omittingEmptySubsequences: false)
        guard components.count == 4 else {
            throw .wrongComponentCount(text: whole, count: components.count)
        }
        var result: UInt32 = 0
        for (index, component) in components.enumerated() {
            guard !component.isEmpty else {
                throw .emptyComponent(text: whole, position: index + 1)
            }
            guard component.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                throw .invalidCharacter(text: whole, component: String(component))
            }
            guard component.utf8.count == 1 || component.utf8.first != UInt8(ascii: "0") else {
                throw .leadingZero(text: whole, component: String(component))
            }
            // At most three digits, so the accumulation below cannot overflow.
            guard component.utf8.count <= 3 else {
                throw .componentOutOfRange(text: whole, component: String(component))
            }
            let number = component.utf8.reduce(UInt32(0)) { $0 * 10 + UInt32($1 - UInt8(ascii: "0")) }
            guard number <= 255 else {
                throw .componentOutOfRange(text: whole, component: String(component))
            }
            result = result << 8 | number
        }
        value = result
    }

    /// The four bytes in network order.
    public var octets: [UInt8] {
        [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) }
    }

    public var description: String {
        octets.map(String.init).joined(separator: ".")
    }

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool {
        lhs.value < rhs.value
    }
}

/// Coded as the dotted-quad string, so durable state stays readable and diffable.
extension IPv4Address: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            try self.init(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
