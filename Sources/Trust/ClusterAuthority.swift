import Crypto
import Foundation
import SwiftASN1
import X509

/// The cluster CA behind `torpor ca`: a directory holding `ca.pem` (the CA certificate, the bundle every daemon
/// and CLI trusts), `ca-key.pem` (0600) and `crl.pem` (the revocation list). Keys are ECDSA P-256. Certificates
/// are issued directly by the CA; the subject is `O=torpor, OU=<role>, CN=<name>` (docs/security.md).
public struct ClusterAuthority: Sendable {
    public let directory: String
    public let certificate: Certificate
    /// The CA key's raw bytes (swift-crypto's key type is not Sendable); see `signingKey()`.
    private let keyBytes: Data

    public var certificatePath: String { Self.certificatePath(directory) }
    public var keyPath: String { Self.keyPath(directory) }
    public var revocationListPath: String { Self.revocationListPath(directory) }

    static func certificatePath(_ directory: String) -> String { directory + "/ca.pem" }
    static func keyPath(_ directory: String) -> String { directory + "/ca-key.pem" }
    static func revocationListPath(_ directory: String) -> String { directory + "/crl.pem" }

    /// A certificate and its private key, as PEM.
    public struct Issued: Sendable {
        public var certificate: Certificate
        public var certificatePEM: String
        public var keyPEM: String
        public var identity: CertificateIdentity
    }

    /// Creates the CA in `directory` (made if missing) with an empty revocation list. Refuses to overwrite a CA.
    public static func create(
        in directory: String,
        name: String = "Torpor cluster CA",
        validity: Duration = .seconds(10 * 365 * 86_400),
        now: Date = Date()
    ) throws(TrustError) -> ClusterAuthority {
        let certificatePath = certificatePath(directory)
        guard !FileManager.default.fileExists(atPath: certificatePath) else {
            throw .authorityExists(path: certificatePath)
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .unreadable(path: directory, reason: SecretFile.reason(error))
        }
        let key = P256.Signing.PrivateKey()
        let certificate: Certificate
        do {
            let subject = try DistinguishedName {
                OrganizationName("torpor")
                CommonName(name)
            }
            let publicKey = Certificate.PublicKey(key.publicKey)
            certificate = try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(),
                publicKey: publicKey,
                notValidBefore: now.addingTimeInterval(-300),
                notValidAfter: now.addingTimeInterval(validity / .seconds(1)),
                issuer: subject,
                subject: subject,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                    SubjectKeyIdentifier(hash: publicKey)
                },
                issuerPrivateKey: Certificate.PrivateKey(key)
            )
        } catch {
            throw .invalidRequest("cannot make the CA certificate: \(error)")
        }
        try SecretFile.create(keyPath(directory), contents: Data(key.pemRepresentation.utf8 + [0x0A]))
        try Self.writePublic(certificatePath, try Self.pem(certificate))
        let authority = ClusterAuthority(
            directory: directory,
            certificate: certificate,
            keyBytes: key.rawRepresentation
        )
        var list = RevocationList(
            issuer: certificate.subject,
            thisUpdate: now,
            nextUpdate: now.addingTimeInterval(365 * 86_400),
            number: 1,
            entries: []
        )
        try authority.write(&list)
        return authority
    }

    /// Opens the CA in `directory`; its key file must not be readable by every user.
    public static func open(_ directory: String) throws(TrustError) -> ClusterAuthority {
        let certificatePath = certificatePath(directory)
        let certificates = try TrustBundle.certificates(at: certificatePath)
        guard certificates.count == 1 else {
            throw .malformed(
                path: certificatePath,
                reason: "holds \(certificates.count) certificates, not the CA's one"
            )
        }
        let keyPath = keyPath(directory)
        let keyText = String(decoding: try SecretFile.read(keyPath), as: UTF8.self)
        let key: P256.Signing.PrivateKey
        do {
            key = try P256.Signing.PrivateKey(pemRepresentation: keyText)
        } catch {
            throw .malformed(path: keyPath, reason: "not a PEM P-256 private key")
        }
        guard Certificate.PublicKey(key.publicKey) == certificates[0].publicKey else {
            throw .malformed(path: keyPath, reason: "it is not the key of \(certificatePath)")
        }
        return ClusterAuthority(directory: directory, certificate: certificates[0], keyBytes: key.rawRepresentation)
    }

    /// Issues a certificate for `role` and `name`, valid from `notBefore` for `validity`.
    public func issue(
        role: CertificateRole,
        name: String,
        validity: Duration = .seconds(365 * 86_400),
        notBefore: Date = Date().addingTimeInterval(-300)
    ) throws(TrustError) -> Issued {
        guard !name.isEmpty, name.utf8.count <= 64, !name.contains(where: { $0.isNewline || $0 == "/" }) else {
            throw .invalidRequest("the name '\(name)' must be 1 to 64 bytes, without '/' or line breaks")
        }
        let key = P256.Signing.PrivateKey()
        do {
            let publicKey = Certificate.PublicKey(key.publicKey)
            let authorityKey = try self.certificate.extensions.subjectKeyIdentifier?.keyIdentifier
            let certificate = try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(),
                publicKey: publicKey,
                notValidBefore: notBefore,
                notValidAfter: notBefore.addingTimeInterval(validity / .seconds(1)),
                issuer: self.certificate.subject,
                subject: try DistinguishedName {
                    OrganizationName("torpor")
                    OrganizationalUnitName(role.rawValue)
                    CommonName(name)
                },
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    try ExtendedKeyUsage([.serverAuth, .clientAuth])
                    SubjectKeyIdentifier(hash: publicKey)
                    AuthorityKeyIdentifier(keyIdentifier: authorityKey)
                },
                issuerPrivateKey: Certificate.PrivateKey(try signingKey())
            )
            return Issued(
                certificate: certificate,
                certificatePEM: try Self.pem(certificate),
                keyPEM: key.pemRepresentation + "\n",
                identity: try CertificateIdentity(certificate)
            )
        } catch let error as TrustError {
            throw error
        } catch {
            throw .invalidRequest("cannot issue the certificate: \(error)")
        }
    }

    /// Issues and writes `<prefix>.pem` and `<prefix>-key.pem` (0600); refuses to overwrite either.
    public func issue(
        role: CertificateRole,
        name: String,
        validity: Duration = .seconds(365 * 86_400),
        writingTo prefix: String
    ) throws(TrustError) -> Issued {
        let issued = try issue(role: role, name: name, validity: validity)
        for path in [prefix + ".pem", prefix + "-key.pem"] where FileManager.default.fileExists(atPath: path) {
            throw .invalidRequest("\(path) already exists; remove it first or choose another --out")
        }
        try SecretFile.create(prefix + "-key.pem", contents: Data(issued.keyPEM.utf8))
        try Self.writePublic(prefix + ".pem", issued.certificatePEM)
        return issued
    }

    /// The current revocation list (`crl.pem`).
    public func revocationList() throws(TrustError) -> RevocationList {
        let path = revocationListPath
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadable(path: path, reason: SecretFile.reason(error))
        }
        return try RevocationList(contentsOf: data, path: path).verified(by: [certificate], path: path)
    }

    /// Adds `serial` to the revocation list and rewrites `crl.pem`; returns the new list. Revoking twice is a no-op.
    @discardableResult
    public func revoke(serial: String, now: Date = Date()) throws(TrustError) -> RevocationList {
        let serial = serial.uppercased().replacingOccurrences(of: ":", with: "")
        guard !serial.isEmpty, serial.allSatisfy(\.isHexDigit) else {
            throw .invalidRequest("the serial '\(serial)' is not hexadecimal (as `openssl x509 -serial` prints it)")
        }
        var list = try revocationList()
        if !list.revokedSerials.contains(serial) {
            list.entries.append(RevocationList.Entry(serial: serial, revokedAt: now))
        }
        list.number += 1
        list.thisUpdate = now
        list.nextUpdate = now.addingTimeInterval(365 * 86_400)
        try write(&list)
        return list
    }

    private func signingKey() throws -> P256.Signing.PrivateKey {
        try P256.Signing.PrivateKey(rawRepresentation: keyBytes)
    }

    private func write(_ list: inout RevocationList) throws(TrustError) {
        let text: String
        do {
            text = try list.pem(signedWith: try signingKey())
        } catch {
            throw .invalidRequest("cannot sign the revocation list: \(error)")
        }
        // Replaced atomically: a daemon reloading on SIGHUP never reads half a list.
        let temporary = revocationListPath + ".new"
        try? FileManager.default.removeItem(atPath: temporary)
        try Self.writePublic(temporary, text)
        guard rename(temporary, revocationListPath) == 0 else {
            throw .unreadable(path: revocationListPath, reason: String(cString: strerror(errno)))
        }
    }

    private static func pem(_ certificate: Certificate) throws(TrustError) -> String {
        do {
            return try certificate.serializeAsPEM().pemString + "\n"
        } catch {
            throw .invalidRequest("cannot encode the certificate: \(error)")
        }
    }

    private static func writePublic(_ path: String, _ text: String) throws(TrustError) {
        guard
            FileManager.default.createFile(
                atPath: path,
                contents: Data(text.utf8),
                attributes: [.posixPermissions: 0o644]
            )
        else {
            throw .unreadable(path: path, reason: "cannot write it")
        }
    }
}
