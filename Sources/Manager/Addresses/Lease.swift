/// One VM's address: the IPv4 address it was given and the MAC that carries it to the guest.
public struct Lease: Hashable, Sendable, Codable {
    public let vmID: String
    public let ip: IPv4Address
    /// Kept as recorded rather than recomputed, because a running VM keeps its MAC even if the prefix changes.
    public let mac: String

    public init(vmID: String, ip: IPv4Address, mac: String) {
        self.vmID = vmID
        self.ip = ip
        self.mac = mac
    }
}
