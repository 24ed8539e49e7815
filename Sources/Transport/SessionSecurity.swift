import NIOCore
import NIOSSL
import Trust
import Wire

/// A TLS connection's view of its peer's certificate: the verdict the verification callback reached, which the
/// session handler checks the Hello or Welcome and every inbound message against. Lives on the channel's event
/// loop (the callback and the session handler both run there).
final class SessionSecurity {
    let trust: TrustStore
    let isListener: Bool
    /// Set by the verification callback during the TLS handshake.
    var verdict: PeerVerdict?
    /// The revocation list's generation at which the peer's certificate was last found not revoked.
    private var notRevokedAtGeneration: Int?

    init(trust: TrustStore, isListener: Bool) {
        self.trust = trust
        self.isListener = isListener
    }

    /// Puts the TLS handler at the front of `channel`'s pipeline. The listener lets the TLS handshake finish
    /// whatever the dialler's certificate is (proof of its key is still required) and refuses an untrusted one
    /// with a Wire Error frame that names the reason; the dialler aborts the handshake on an untrusted server.
    static func install(_ tls: WireTLS, isListener: Bool, on channel: any Channel) throws -> SessionSecurity {
        let security = SessionSecurity(trust: tls.trust, isListener: isListener)
        let verify: NIOSSLCustomVerificationCallback = { certificates, promise in
            let chain = certificates.compactMap { try? $0.toDERBytes() }
            let verdict = security.trust.verify(chain: chain)
            security.verdict = verdict
            if case .refused = verdict, !isListener {
                promise.succeed(.failed)
            } else {
                promise.succeed(.certificateVerified)
            }
        }
        if isListener {
            try channel.pipeline.syncOperations.addHandler(
                NIOSSLServerHandler(context: tls.serverContext, customVerificationCallback: verify)
            )
        } else {
            try channel.pipeline.syncOperations.addHandler(
                try NIOSSLClientHandler(context: tls.clientContext, serverHostname: nil, customVerificationCallback: verify)
            )
        }
        return security
    }

    /// The trusted identity whose Hello (listener) or Welcome (dialler) matches it, or why the peer is refused.
    func admit(_ greeting: WirePeer.Greeting) -> Result<CertificateIdentity, Refusal> {
        guard let verdict else {
            return .failure(Refusal(identity: nil, reason: "the peer presented no certificate"))
        }
        switch verdict {
        case .refused(let identity, let serial, let reason):
            let named = identity.map { "\($0)" } ?? serial.map { "serial \($0)" } ?? "the certificate"
            return .failure(Refusal(identity: identity, reason: "\(named) is refused: \(reason)"))
        case .trusted(let identity):
            let refusal: String? =
                switch greeting {
                case .hello(let hello): WireAuthorization.refusal(of: hello, from: identity)
                case .welcome(let welcome): WireAuthorization.refusal(of: welcome, from: identity)
                }
            if let refusal { return .failure(Refusal(identity: identity, reason: refusal)) }
            return .success(identity)
        }
    }

    /// Nil when `identity` may still send `message`: its certificate is not revoked since and its role allows it.
    func refusal(of message: WireMessage, from identity: CertificateIdentity) -> Refusal? {
        // The revocation list is looked up again only when it was reloaded since the peer last passed.
        let generation = trust.revocationGeneration
        if notRevokedAtGeneration != generation {
            if trust.isRevoked(serial: identity.serial) {
                return Refusal(identity: identity, reason: "\(identity) has been revoked", closes: true)
            }
            notRevokedAtGeneration = generation
        }
        return WireAuthorization.refusal(of: message, from: identity).map {
            Refusal(identity: identity, reason: $0, closes: false)
        }
    }

    struct Refusal: Error {
        var identity: CertificateIdentity?
        var reason: String
        /// The certificate itself is refused: the connection closes.
        var closes = true
    }
}
