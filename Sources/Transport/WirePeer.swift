import NIOCore
import Trust
import Wire

/// Who is on the other end of an established connection.
public struct WirePeer: Hashable, Sendable {
    /// What the peer said during the handshake: a listener sees the dialler's Hello, a dialler the listener's Welcome.
    public enum Greeting: Hashable, Sendable {
        case hello(Hello)
        case welcome(Welcome)
    }

    public var greeting: Greeting
    /// The protocol version both sides use for every frame after the handshake.
    public var version: UInt8
    public var remoteAddress: SocketAddress?
    /// The peer's certificate (role, name, serial, validity) on a TLS link; nil on plaintext.
    public var certificate: CertificateIdentity?

    public init(
        greeting: Greeting,
        version: UInt8,
        remoteAddress: SocketAddress?,
        certificate: CertificateIdentity? = nil
    ) {
        self.greeting = greeting
        self.version = version
        self.remoteAddress = remoteAddress
        self.certificate = certificate
    }

    public var hello: Hello? {
        if case .hello(let hello) = greeting { return hello }
        return nil
    }

    public var welcome: Welcome? {
        if case .welcome(let welcome) = greeting { return welcome }
        return nil
    }

    public var role: PeerRole {
        switch greeting {
        case .hello(let hello): hello.role
        case .welcome(let welcome): welcome.role
        }
    }

    public var nodeName: String {
        switch greeting {
        case .hello(let hello): hello.nodeName
        case .welcome(let welcome): welcome.nodeName
        }
    }

    public var softwareVersion: String {
        switch greeting {
        case .hello(let hello): hello.softwareVersion
        case .welcome(let welcome): welcome.softwareVersion
        }
    }
}
