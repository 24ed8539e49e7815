import Foundation
import Synchronization
import X509

/// What the trust store decided about a peer's certificate chain.
public enum PeerVerdict: Hashable, Sendable {
    case trusted(CertificateIdentity)
    /// `identity` when the certificate named one (so the log can name it), and why it was refused.
    case refused(identity: CertificateIdentity?, serial: String?, reason: String)

    public var identity: CertificateIdentity? {
        switch self {
        case .trusted(let identity): identity
        case .refused(let identity, _, _): identity
        }
    }
}

/// The CA bundle and the current revocation list: decides which peer certificates to trust. Certificates are
/// issued directly by a CA in the bundle. Thread-safe; `reloadRevocations()` swaps in a new list (SIGHUP).
public final class TrustStore: Sendable {
    public let authorities: [Certificate]
    public let caBundlePath: String
    public let revocationListPath: String?
    private let revoked: LockedValue<Set<String>>
    private let revocationGenerationCount = Atomic<Int>(0)

    /// Loads the CA bundle and, when given, the revocation list (which must be signed by a CA in the bundle).
    public init(caBundlePath: String, revocationListPath: String?) throws(TrustError) {
        self.caBundlePath = caBundlePath
        self.revocationListPath = revocationListPath
        let authorities = try TrustBundle.certificates(at: caBundlePath)
        self.authorities = authorities
        var serials: Set<String> = []
        if let revocationListPath { serials = try Self.load(revocationListPath, authorities) }
        self.revoked = LockedValue(serials)
    }

    /// Rereads the revocation list; on failure keeps the previous one and throws. Returns how many serials are revoked.
    @discardableResult
    public func reloadRevocations() throws(TrustError) -> Int {
        guard let revocationListPath else { return 0 }
        let serials = try Self.load(revocationListPath, authorities)
        revoked.withLock { $0 = serials }
        // After the swap: a reader that saw the old generation checks again.
        revocationGenerationCount.add(1, ordering: .releasing)
        return serials.count
    }

    /// Changes each time the revocation list is reloaded: a connection that found its peer not revoked at one
    /// generation needs to look again only when it changes (read it before `isRevoked`).
    public var revocationGeneration: Int { revocationGenerationCount.load(ordering: .acquiring) }

    public func isRevoked(serial: String) -> Bool {
        revoked.withLock { $0.contains(serial) }
    }

    /// Checks a peer's chain (leaf first, DER) at `now`: issued and signed by a CA in the bundle, within its validity,
    /// not a CA itself, not revoked, with a Torpor subject.
    public func verify(chain: [[UInt8]], now: Date = Date()) -> PeerVerdict {
        guard let leafBytes = chain.first else {
            return .refused(identity: nil, serial: nil, reason: "the peer presented no certificate")
        }
        let leaf: Certificate
        do {
            leaf = try Certificate(derEncoded: leafBytes)
        } catch {
            return .refused(identity: nil, serial: nil, reason: "the peer's certificate does not parse: \(error)")
        }
        let serial = CertificateIdentity.hex(leaf.serialNumber)
        let identity = try? CertificateIdentity(leaf)
        func refuse(_ reason: String) -> PeerVerdict { .refused(identity: identity, serial: serial, reason: reason) }

        let issuers = authorities.filter { $0.subject == leaf.issuer }
        guard let authority = issuers.first(where: { $0.publicKey.isValidSignature(leaf.signature, for: leaf) }) else {
            return refuse(
                issuers.isEmpty
                    ? "not issued by this cluster's CA (its issuer \(leaf.issuer) is not in the CA bundle)"
                    : "not issued by this cluster's CA (the issuer's name \(leaf.issuer) matches, the signature does "
                        + "not: another CA of that name, or forged)"
            )
        }
        let stamp = ISO8601DateFormatter()
        if now < leaf.notValidBefore {
            return refuse("not valid before \(stamp.string(from: leaf.notValidBefore))")
        }
        if now > leaf.notValidAfter {
            return refuse("expired on \(stamp.string(from: leaf.notValidAfter))")
        }
        if now > authority.notValidAfter {
            return refuse("its CA (\(authority.subject)) expired on \(stamp.string(from: authority.notValidAfter))")
        }
        if case .some(.isCertificateAuthority) = try? leaf.extensions.basicConstraints {
            return refuse("it is a CA certificate, not a peer's")
        }
        if isRevoked(serial: serial) {
            return refuse("revoked (listed in \(revocationListPath ?? "the revocation list"))")
        }
        do {
            return .trusted(try CertificateIdentity(leaf))
        } catch {
            return refuse("\(error)")
        }
    }

    private static func load(_ path: String, _ authorities: [Certificate]) throws(TrustError) -> Set<String> {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadable(path: path, reason: SecretFile.reason(error))
        }
        return try RevocationList(contentsOf: data, path: path).verified(by: authorities, path: path).revokedSerials
    }
}

/// A value behind a lock (Synchronization's Mutex needs macOS 15; Package.swift says 14).
final class LockedValue<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
