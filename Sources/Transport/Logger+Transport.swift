import Logging
import NIOCore

/// Metadata keys this module logs with; all start with `torpor.`.
enum TransportMetadataKey: String {
    case peer = "torpor.peer"
    case peerRole = "torpor.peer_role"
    case peerNode = "torpor.peer_node"
    /// The peer's certificate as `role/name (serial S)` (docs/security.md).
    case peerCertificate = "torpor.peer_certificate"
    case wireVersion = "torpor.wire_version"
    case requestID = "torpor.request_id"
    case messageType = "torpor.message_type"
    case listenAddress = "torpor.listen_address"
    case error = "torpor.error"
    case attempt = "torpor.attempt"
    case retryIn = "torpor.retry_in"
    case issuedByUs = "torpor.issued_by_us"
    case limit = "torpor.limit"
    case openConnections = "torpor.open_connections"
    case refused = "torpor.refused"
    case queuedBytes = "torpor.queued_bytes"
    case timeout = "torpor.timeout"
}

extension Logger {
    subscript(transportMetadataKey key: TransportMetadataKey) -> Logger.Metadata.Value? {
        get { self[metadataKey: key.rawValue] }
        set { self[metadataKey: key.rawValue] = newValue }
    }
}

extension SocketAddress {
    /// "10.0.0.2:7400" or "[fe80::1]:7400" rather than NIO's "[IPv4]10.0.0.2/10.0.0.2:7400".
    var endpointDescription: String {
        guard let ip = ipAddress, let port else { return "\(self)" }
        return TransportError.endpoint(ip, port)
    }
}
