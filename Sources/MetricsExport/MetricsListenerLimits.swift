/// What one `/metrics` listener accepts: few peers (Prometheus and an operator's curl), small requests, and no peer
/// that holds a connection without finishing a request.
public struct MetricsListenerLimits: Sendable, Equatable {
    /// Connections at once; more are closed as soon as they are accepted.
    public var maximumConnections = 16
    /// Bytes of one request (request line, headers and body); a scrape is a few hundred. More is answered with 413
    /// and the connection closed.
    public var maximumRequestBytes = 16 * 1024
    /// How long a peer has to send a whole request, from connecting or from the previous response; also how long
    /// an idle keep-alive connection stays open.
    public var requestTimeout: Duration = .seconds(10)

    public init() {}
}
