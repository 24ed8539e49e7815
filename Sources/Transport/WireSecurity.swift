import Foundation
import NIOCore
import NIOSSL
import Trust

/// How a Wire link is protected: mutual TLS with role certificates (docs/security.md), or plaintext, which the
/// daemons and CLIs allow only on loopback addresses.
public enum WireSecurity: Sendable {
    case plaintext
    case tls(WireTLS)

    public var tls: WireTLS? {
        if case .tls(let tls) = self { return tls }
        return nil
    }
}

/// This side's certificate and key, and the trust store its peers' certificates are checked against. Both sides
/// present a certificate; neither checks host names: the certificate's role and name are what count.
public struct WireTLS: Sendable {
    /// Our own certificate's role, name, serial and validity.
    public let identity: CertificateIdentity
    public let trust: TrustStore
    public let certificatePath: String
    let serverContext: NIOSSLContext
    let clientContext: NIOSSLContext

    /// Loads the certificate (PEM), its key (PEM; refused when every user may read it), the CA bundle and the
    /// optional revocation list. Errors name the file.
    public static func load(
        certificatePath: String,
        keyPath: String,
        caBundlePath: String,
        revocationListPath: String? = nil
    ) throws(TrustError) -> WireTLS {
        try SecretFile.checkPermissions(keyPath)
        let trust = try TrustStore(caBundlePath: caBundlePath, revocationListPath: revocationListPath)
        let ours = try TrustBundle.certificates(at: certificatePath)
        let identity = try CertificateIdentity(ours[0])
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        let roots: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw .malformed(path: certificatePath, reason: "\(error)")
        }
        do {
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        } catch {
            throw .malformed(path: keyPath, reason: "not a PEM private key (\(error))")
        }
        do {
            roots = try NIOSSLCertificate.fromPEMFile(caBundlePath)
        } catch {
            throw .malformed(path: caBundlePath, reason: "\(error)")
        }
        var server = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(key)
        )
        var client = TLSConfiguration.makeClientConfiguration()
        client.certificateChain = chain.map { .certificate($0) }
        client.privateKey = .privateKey(key)
        server.minimumTLSVersion = .tlsv13
        client.minimumTLSVersion = .tlsv13
        // Both ask for the peer's certificate; the custom verification callback (TrustStore) decides.
        server.certificateVerification = .noHostnameVerification
        client.certificateVerification = .noHostnameVerification
        server.trustRoots = .certificates(roots)
        client.trustRoots = .certificates(roots)
        do {
            let serverContext = try NIOSSLContext(configuration: server)
            let clientContext = try NIOSSLContext(configuration: client)
            return WireTLS(
                identity: identity,
                trust: trust,
                certificatePath: certificatePath,
                serverContext: serverContext,
                clientContext: clientContext
            )
        } catch {
            throw .malformed(path: certificatePath, reason: "the certificate and key \(keyPath) do not make a TLS context: \(error)")
        }
    }
}
