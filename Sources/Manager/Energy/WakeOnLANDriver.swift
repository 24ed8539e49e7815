import Energy

/// Our own magic packet, by UDP broadcast.
public struct WakeOnLANDriver: WakeDriver {
    public let mac: String
    public let broadcast: String
    public let port: UInt16
    public var name: String { "Wake-on-LAN" }

    public func wake() async -> Result<String, WakeDriverFailure> {
        guard let packet = MagicPacket(mac: mac) else {
            return .failure(WakeDriverFailure(description: "'\(mac)' is not a MAC address"))
        }
        do {
            try WakeOnLANSender.send(packet, to: broadcast, port: port)
            return .success("magic packet for \(mac) sent to \(broadcast):\(port)")
        } catch {
            return .failure(WakeDriverFailure(description: "\(broadcast):\(port): \(error)"))
        }
    }
}
