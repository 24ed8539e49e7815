/// Why an etcd call failed; each names the endpoint and, when etcd answered, etcd's own message.
public enum EtcdError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No connection, or no answer within the request timeout.
    case unreachable(endpoint: String, reason: String)
    /// etcd (or its gateway) answered with an error: HTTP status, gRPC code and etcd's message.
    case refused(endpoint: String, path: String, status: Int, code: Int?, message: String)
    /// An answer that is not the JSON the gateway sends.
    case malformedReply(endpoint: String, path: String, reason: String)
    /// The lease is gone (expired or revoked): etcd answered a keepalive with no TTL.
    case leaseExpired(endpoint: String, lease: Int64)
    /// A watch etcd canceled (compacted revision, lost permission).
    case watchCanceled(endpoint: String, reason: String)
    /// The configuration cannot be used: endpoints, TLS files or the credentials file.
    case configuration(String)

    public var description: String {
        switch self {
        case .unreachable(let endpoint, let reason): "etcd at \(endpoint) is unreachable: \(reason)"
        case .refused(let endpoint, let path, let status, let code, let message):
            "etcd at \(endpoint) refused \(path) (HTTP \(status)\(code.map { ", code \($0)" } ?? "")): \(message)"
        case .malformedReply(let endpoint, let path, let reason):
            "etcd at \(endpoint) sent an unreadable answer to \(path): \(reason)"
        case .leaseExpired(let endpoint, let lease): "etcd at \(endpoint): lease \(lease) has expired or was revoked"
        case .watchCanceled(let endpoint, let reason): "etcd at \(endpoint) canceled the watch: \(reason)"
        case .configuration(let reason): reason
        }
    }

    /// Whether another endpoint, or the same one later, may succeed where this one failed.
    public var isConnectionFailure: Bool {
        if case .unreachable = self { return true }
        // The gateway answers 503 while its member has no leader.
        if case .refused(_, _, let status, _, _) = self, status == 502 || status == 503 { return true }
        return false
    }
}
