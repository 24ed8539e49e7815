/// What a certificate lets its holder be on a Wire link (docs/security.md). Carried in the certificate subject's
/// organizational unit (OU); the subject's common name (CN) is the holder's name.
public enum CertificateRole: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// A host's agent; its name is the host id it may speak as.
    case agent
    /// A manager process (agent links and manager-to-manager traffic).
    case manager
    /// A person or tool that may change things: power, VMs, clusters.
    case `operator`
    /// A person or tool that may only read.
    case viewer

    public var description: String { rawValue }
}
