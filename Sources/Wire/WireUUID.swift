import NIOCore

/// A 128-bit UUID (libvirt domain UUIDs, host ids), 16 bytes on the wire. Wire cannot import Foundation.
public struct WireUUID: Hashable, Sendable, Comparable {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    public static let zero = WireUUID(high: 0, low: 0)

    /// From 16 raw bytes (libvirt's `virDomainGetUUID`).
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            if index < 8 { high = high << 8 | UInt64(byte) } else { low = low << 8 | UInt64(byte) }
        }
        self.init(high: high, low: low)
    }

    /// From the canonical text form, `8-4-4-4-12` hex digits (dashes optional).
    public init?(_ text: some StringProtocol) {
        var nibbles: [UInt8] = []
        nibbles.reserveCapacity(32)
        for character in text.utf8 {
            switch character {
            case UInt8(ascii: "-"): continue
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibbles.append(character - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibbles.append(character - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibbles.append(character - UInt8(ascii: "A") + 10)
            default: return nil
            }
        }
        guard nibbles.count == 32 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: 32, by: 2) {
            bytes.append(nibbles[index] << 4 | nibbles[index + 1])
        }
        self.init(bytes: bytes)
    }

    public var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }

    public static func < (lhs: WireUUID, rhs: WireUUID) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }
}

extension WireUUID: CustomStringConvertible {
    /// Lower-case 8-4-4-4-12, written into one buffer: group managers format tens of thousands of these per
    /// report, and the per-byte strings this replaced were a fifth of a group manager's CPU.
    public var description: String {
        String(unsafeUninitializedCapacity: 36) { buffer in
            var position = 0
            for index in 0..<16 {
                if index == 4 || index == 6 || index == 8 || index == 10 {
                    buffer[position] = UInt8(ascii: "-")
                    position += 1
                }
                let word = index < 8 ? high : low
                let byte = UInt8(truncatingIfNeeded: word >> UInt64(56 - 8 * (index % 8)))
                buffer[position] = Self.hexDigits[Int(byte >> 4)]
                buffer[position + 1] = Self.hexDigits[Int(byte & 0x0f)]
                position += 2
            }
            return position
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}

extension ByteBuffer {
    @inlinable
    public mutating func writeWireUUID(_ uuid: WireUUID) {
        self.writeMultipleIntegers(uuid.high, uuid.low)
    }

    @inlinable
    public mutating func readWireUUID(_ message: WireMessageType, _ field: StaticString) throws(WireError) -> WireUUID {
        guard let (high, low) = self.readMultipleIntegers(as: (UInt64, UInt64).self) else {
            throw .truncated(message: message, field: "\(field)")
        }
        return WireUUID(high: high, low: low)
    }
}
