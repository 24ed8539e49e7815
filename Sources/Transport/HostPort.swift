/// "host:port" as operators write it in configuration files and flags; IPv6 hosts in brackets ("[::1]:7701").
public struct HostPort: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses "host:port". Port 0 ("any free port") is accepted only where something listens.
    public init?(_ text: String, allowsPortZero: Bool = false) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            ((allowsPortZero ? 0 : 1)...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.init(host: host, port: port)
    }

    public var description: String { TransportError.endpoint(host, port) }
}
