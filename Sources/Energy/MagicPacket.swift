/// A Wake-on-LAN magic packet: six 0xFF bytes, then the target MAC sixteen times (102 bytes).
public struct MagicPacket: Sendable, Hashable {
    public let mac: [UInt8]

    /// Accepts `52:54:00:12:34:56` or `52-54-00-12-34-56`, either case; nil for anything else.
    public init?(mac text: String) {
        let parts =
            text.split(separator: ":", omittingEmptySubsequences: false).count == 6
            ? text.split(separator: ":", omittingEmptySubsequences: false)
            : text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard part.count == 2, let byte = UInt8(part, radix: 16) else { return nil }
            bytes.append(byte)
        }
        mac = bytes
    }

    public var bytes: [UInt8] {
        [UInt8](repeating: 0xFF, count: 6) + Array([[UInt8]](repeating: mac, count: 16).joined())
    }

    /// True when `datagram` is this packet: the six 0xFF bytes and sixteen copies of our MAC, anywhere in it
    /// (senders may prepend headers or append a SecureOn password).
    public func isContained(in datagram: [UInt8]) -> Bool {
        let pattern = bytes
        guard datagram.count >= pattern.count else { return false }
        return (0...(datagram.count - pattern.count)).contains { start in
            datagram[start..<(start + pattern.count)].elementsEqual(pattern)
        }
    }
}
