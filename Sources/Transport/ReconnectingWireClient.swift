import Logging
import Wire

/// Keeps a connection to one server up: dials, runs `body` with each new connection, and dials again with
/// exponential backoff and full jitter whenever the connection fails or drops, until its task is cancelled.
public struct ReconnectingWireClient: Sendable {
    public var client: WireClient
    public var host: String
    public var port: Int
    /// The schedule between attempts; restarts from its initial delay after every established connection.
    public var backoff: Backoff

    public init(client: WireClient, host: String, port: Int, backoff: Backoff = Backoff()) {
        self.client = client
        self.host = host
        self.port = port
        self.backoff = backoff
    }

    /// Runs until the calling task is cancelled, then returns.
    ///
    /// `body` gets each established connection and owns it while it runs: when `body` returns or throws, the
    /// connection is closed and a new one dialled. When the connection drops first, `body`'s task is cancelled
    /// (and its `inbound` ends) so that it does not outlive its connection. Errors thrown by `body` are logged,
    /// never fatal. `onLinkStateChange` sees every transition.
    public func run(
        onLinkStateChange: @escaping @Sendable (WireLinkState) -> Void = { _ in },
        connection body: @escaping @Sendable (WireConnection) async throws -> Void
    ) async {
        var generator = SystemRandomNumberGenerator()
        await run(onLinkStateChange: onLinkStateChange, generator: &generator, connection: body)
    }

    /// As `run(onLinkStateChange:connection:)`, with the jitter drawn from `generator`.
    public func run(
        onLinkStateChange: @escaping @Sendable (WireLinkState) -> Void = { _ in },
        generator: inout some RandomNumberGenerator,
        connection body: @escaping @Sendable (WireConnection) async throws -> Void
    ) async {
        let address = TransportError.endpoint(host, port)
        var logger = client.logger
        logger[transportMetadataKey: .peer] = "\(address)"
        var backoff = self.backoff
        var attempt = 0

        while !Task.isCancelled {
            attempt += 1
            onLinkStateChange(.connecting(address: address, attempt: attempt))
            let reason: TransportError
            do {
                let connection = try await client.connect(host: host, port: port)
                backoff.reset()
                attempt = 0
                logger.info(
                    "link up",
                    metadata: [TransportMetadataKey.peerNode.rawValue: "\(connection.peer.nodeName)"]
                )
                onLinkStateChange(.connected(connection.peer))
                reason = await Self.serve(connection, body: body)
            } catch {
                reason = error
            }
            if Task.isCancelled { break }

            let delay = backoff.nextDelay(using: &generator)
            logger.notice(
                "link down",
                metadata: [
                    TransportMetadataKey.error.rawValue: "\(reason)",
                    TransportMetadataKey.attempt.rawValue: "\(attempt)",
                    TransportMetadataKey.retryIn.rawValue: "\(delay)",
                ]
            )
            onLinkStateChange(.disconnected(reason: reason, retryIn: delay))
            do {
                try await Task.sleep(for: delay)
            } catch {
                break
            }
        }
        onLinkStateChange(.disconnected(reason: .cancelled, retryIn: nil))
    }

    /// Runs `body` until it ends or the connection drops, then closes the connection; returns why it ended.
    static func serve(
        _ connection: WireConnection,
        body: @escaping @Sendable (WireConnection) async throws -> Void
    ) async -> TransportError {
        await withTaskGroup(of: TransportError?.self) { group in
            group.addTask {
                do {
                    try await body(connection)
                    return nil
                } catch let error as TransportError {
                    return error
                } catch {
                    if !Task.isCancelled {
                        connection.logger.warning(
                            "the connection body failed",
                            metadata: [TransportMetadataKey.error.rawValue: "\(error)"]
                        )
                    }
                    return nil
                }
            }
            group.addTask {
                await connection.waitUntilClosed()
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            // Ends the watcher when the body finished first.
            await connection.close()
            return first ?? .connectionClosed
        }
    }
}
