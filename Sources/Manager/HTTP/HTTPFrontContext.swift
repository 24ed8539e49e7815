import Hummingbird
import NIOCore

/// The request context of every route on the HTTP front: Hummingbird's core storage plus who is calling and on
/// which address, for access logs and for the addresses replies advertise.
public struct HTTPFrontContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client's address (`ip:port`), or "unknown".
    public let peer: String
    /// The front's own bound port as this connection reached it.
    public let localPort: Int?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peer = source.channel.remoteAddress.map(Self.describe) ?? "unknown"
        localPort = source.channel.localAddress?.port
    }

    static func describe(_ address: SocketAddress) -> String {
        switch address {
        case .v4, .v6: "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
        case .unixDomainSocket: "unix"
        }
    }
}

/// A group of routes on the HTTP front. Each API (Snooze's, Prometheus metrics, a web view…) is one value of its own
/// type, built in `ManagerDaemon.services()` from its configuration and added to the front's router there.
public protocol HTTPFrontRoutes: Sendable {
    func add(to router: Router<HTTPFrontContext>)
}
