/// Why a certificate, key, revocation list or secret file cannot be used; each names the file or certificate.
public enum TrustError: Error, Hashable, Sendable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    /// A secret (private key, password file) others may read.
    case secretFileTooOpen(path: String, mode: String)
    case notATorporCertificate(serial: String, reason: String)
    /// The CA directory already holds a CA (init) or lacks one (issue, revoke).
    case authorityExists(path: String)
    case invalidRequest(String)
    case revocationListRejected(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        case .malformed(let path, let reason): "\(path) is not usable: \(reason)"
        case .secretFileTooOpen(let path, let mode):
            "\(path) holds a secret but its mode \(mode) lets every user read it; run chmod 600 \(path)"
        case .notATorporCertificate(let serial, let reason):
            "the certificate with serial \(serial) is not a Torpor certificate: \(reason)"
        case .authorityExists(let path): "\(path) already exists; a cluster CA is made once"
        case .invalidRequest(let reason): reason
        case .revocationListRejected(let path, let reason): "the revocation list \(path) was rejected: \(reason)"
        }
    }
}
