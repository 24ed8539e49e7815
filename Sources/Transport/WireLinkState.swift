/// The state of a `ReconnectingWireClient`'s link, for status displays ("manager link: connected").
public enum WireLinkState: Hashable, Sendable {
    /// Dialling `address` ("host:port"); `attempt` counts from 1 since the last established connection.
    case connecting(address: String, attempt: Int)
    /// The handshake succeeded.
    case connected(WirePeer)
    /// The connection failed or dropped. `retryIn` is the backoff before the next attempt, nil when the client is
    /// stopping.
    case disconnected(reason: TransportError, retryIn: Duration?)
}
