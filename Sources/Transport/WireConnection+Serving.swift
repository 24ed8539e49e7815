import Logging
import Synchronization
import Wire

extension WireConnection {
    /// Answers the peer's requests and pushes until `inbound` ends, each in its own child task so a slow one never
    /// holds up the others, at most `configuration.maximumConcurrentRequests` at once.
    ///
    /// A request beyond that limit is answered at once with an Error frame `busy` naming it, which fails only that
    /// request; a push beyond it is dropped with a log line. `answer` returns the reply, or nil for a push; a
    /// request it returns nil for is answered with an Error frame `unexpectedMessage`, so no request is left
    /// waiting. While replies cannot be written (the peer does not read), the busy answers wait too, so the peer's
    /// frames stay unread in the socket instead of piling up here.
    public func serveRequests(_ answer: @escaping @Sendable (WireEnvelope) async -> WireMessage?) async throws {
        let limit = configuration.maximumConcurrentRequests
        let running = RunningRequests(limit: limit)
        defer {
            let refused = running.refused
            if refused > 1 {
                logger.notice(
                    "refused requests over the limit on this connection",
                    metadata: [
                        TransportMetadataKey.limit.rawValue: "\(limit)",
                        TransportMetadataKey.refused.rawValue: "\(refused)",
                    ]
                )
            }
        }
        try await withThrowingDiscardingTaskGroup { group in
            for try await envelope in inbound where !envelope.isResponse {
                switch running.start() {
                case .start:
                    break
                case .overLimit(let first):
                    if first {
                        logger.notice(
                            "refusing requests: as many as allowed are running on this connection",
                            metadata: [
                                TransportMetadataKey.limit.rawValue: "\(limit)",
                                TransportMetadataKey.messageType.rawValue: "\(envelope.message.type)",
                            ]
                        )
                    }
                    if envelope.requestID != 0 {
                        let busy = ErrorMessage(
                            code: .busy,
                            message: "at most \(limit) requests run at once on one connection; this one was refused"
                        )
                        try await reply(to: envelope.requestID, with: .error(busy))
                    }
                    continue
                }
                group.addTask {
                    defer { running.finish() }
                    let reply = await answer(envelope)
                    guard envelope.requestID != 0 else { return }
                    let unanswerable = ErrorMessage(
                        code: .unexpectedMessage,
                        message: "\(envelope.message.type) is not a request this peer answers"
                    )
                    do throws(TransportError) {
                        try await self.reply(to: envelope.requestID, with: reply ?? .error(unanswerable))
                    } catch {
                        guard case .frameTooLarge = error else { throw error }
                        // An answer too large for a frame: the requester learns why instead of waiting it out.
                        self.logger.error(
                            "reply too large for a frame",
                            metadata: [TransportMetadataKey.error.rawValue: "\(error)"]
                        )
                        let refusal = ErrorMessage(code: .internalError, message: "the peer's \(error)")
                        try await self.reply(to: envelope.requestID, with: .error(refusal))
                    }
                }
            }
        }
    }
}

/// How many of one connection's requests are running, shared by the loop that starts them and the tasks that end.
private final class RunningRequests: Sendable {
    enum Start {
        case start
        /// `first` for the connection's first refusal (log it; the rest are counted).
        case overLimit(first: Bool)
    }

    private struct State {
        var running = 0
        var refused = 0
    }

    private let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        self.limit = limit
    }

    var refused: Int { state.withLock { $0.refused } }

    func start() -> Start {
        state.withLock { state in
            guard state.running < limit else {
                state.refused += 1
                return .overLimit(first: state.refused == 1)
            }
            state.running += 1
            return .start
        }
    }

    func finish() {
        state.withLock { $0.running -= 1 }
    }
}
