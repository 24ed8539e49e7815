import Energy

#if canImport(Glibc)
import Glibc
#endif

/// Sends magic packets over UDP with SO_BROADCAST. Our own sender: no `wakeonlan` or `etherwake` needed.
public enum WakeOnLANSender {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Sends `packet` to `address`:`port` (an IPv4 broadcast or unicast address), `count` times.
    public static func send(_ packet: MagicPacket, to address: String, port: UInt16, count: Int = 3) throws(Failure) {
        var destination = sockaddr_in()
        destination.sin_family = sa_family_t(AF_INET)
        destination.sin_port = in_port_t(port.bigEndian)
        guard inet_pton(AF_INET, address, &destination.sin_addr) == 1 else {
            throw Failure(description: "'\(address)' is not an IPv4 address")
        }
        let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var enable: Int32 = 1
        guard setsockopt(descriptor, SOL_SOCKET, SO_BROADCAST, &enable, socklen_t(MemoryLayout<Int32>.size)) == 0
        else { throw Failure(description: "SO_BROADCAST: \(String(cString: strerror(errno)))") }
        let bytes = packet.bytes
        for _ in 0..<max(1, count) {
            let sent = bytes.withUnsafeBytes { buffer in
                withUnsafePointer(to: &destination) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(
                            descriptor,
                            buffer.baseAddress,
                            buffer.count,
                            0,
                            $0,
                            socklen_t(MemoryLayout<sockaddr_in>.size)
                        )
                    }
                }
            }
            guard sent == bytes.count else {
                throw Failure(description: "sendto \(address):\(port): \(String(cString: strerror(errno)))")
            }
        }
    }
}
