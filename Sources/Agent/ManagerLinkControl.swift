import Logging
import Synchronization
import Wire

/// What the rest of the agent asks of its manager link while it runs: a PowerNotice sent on the connection that is
/// up, and, after a resume, a new connection at once (fresh Hello and Inventory) instead of waiting out the
/// reconnect backoff. With no manager configured nothing attaches and every notice is dropped at once.
public final class ManagerLinkControl: Sendable {
    /// A notice on its way to the link, and where the link says it has left.
    struct Outgoing: Sendable {
        /// A PowerNotice or MigrationProgress, sent with the `ignorable` flag.
        var message: WireMessage
        var sent: AsyncStream<Void>.Continuation
    }

    private struct State {
        var outbox: (id: UInt64, continuation: AsyncStream<Outgoing>.Continuation)?
        var nextID: UInt64 = 0
        /// A `resumed` notice is owed on the next connection.
        var resumePending = false
    }

    /// How long a notice may hold up its sender: going down must never wait on a dead link.
    public let bound: Duration
    private let logger: Logger
    private let state = Mutex(State())
    private let reconnects: AsyncStream<Void>
    private let reconnectRequests: AsyncStream<Void>.Continuation

    public init(bound: Duration = .seconds(1), logger: Logger) {
        self.bound = bound
        self.logger = logger
        // Several requests before the link reacts are one reconnect.
        (reconnects, reconnectRequests) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Sends `notice` on the manager connection if one is up; true once it has been handed to the socket, false
    /// when there is no connection, the send failed, or `bound` passed first.
    @discardableResult
    public func send(_ notice: PowerNotice) async -> Bool {
        let (sent, sentContinuation) = AsyncStream.makeStream(of: Void.self)
        let outbox = state.withLock { $0.outbox?.continuation }
        var metadata: Logger.Metadata = [
            "torpor.phase": "\(notice.phase)", "torpor.reason": "\(notice.reason)",
        ]
        if let action = notice.action { metadata["torpor.action"] = "\(action)" }
        guard let outbox, case .enqueued = outbox.yield(Outgoing(message: .powerNotice(notice), sent: sentContinuation))
        else {
            logger.notice("power notice not sent: no manager connection", metadata: metadata)
            return false
        }
        let bound = self.bound
        let delivered = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await _ in sent { return true }
                return false
            }
            group.addTask {
                try? await Task.sleep(for: bound)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        if delivered {
            logger.notice("power notice sent to the manager", metadata: metadata)
        } else {
            logger.warning(
                "power notice not confirmed sent",
                metadata: metadata.merging(["torpor.bound": "\(bound)"]) { $1 }
            )
        }
        return delivered
    }

    /// Pushes a migration's progress on the manager connection if one is up, without waiting for it to leave:
    /// progress is sent again a moment later anyway. False when there is no connection.
    @discardableResult
    public func send(_ progress: MigrationProgress) -> Bool {
        let (_, sent) = AsyncStream.makeStream(of: Void.self)
        guard let outbox = state.withLock({ $0.outbox?.continuation }),
            case .enqueued = outbox.yield(Outgoing(message: .migrationProgress(progress), sent: sent))
        else { return false }
        return true
    }

    /// Drops the manager connection and its backoff and dials again now; with `resumed` the new connection also
    /// carries PowerNotice(resumed) after its Inventory.
    public func reconnectNow(resumed: Bool) {
        if resumed { state.withLock { $0.resumePending = true } }
        reconnectRequests.yield()
    }

    // MARK: The link's side

    /// Reconnect requests, for the one ManagerLink that runs.
    var reconnectRequestStream: AsyncStream<Void> { reconnects }

    /// Makes the connection being served the one notices go to; pass the id to `detach` when it ends.
    func attach() -> (id: UInt64, outbox: AsyncStream<Outgoing>) {
        let (stream, continuation) = AsyncStream.makeStream(of: Outgoing.self)
        let id = state.withLock { state in
            state.nextID += 1
            state.outbox?.continuation.finish()
            state.outbox = (state.nextID, continuation)
            return state.nextID
        }
        return (id, stream)
    }

    func detach(_ id: UInt64) {
        state.withLock { state in
            guard state.outbox?.id == id else { return }
            state.outbox?.continuation.finish()
            state.outbox = nil
        }
    }

    /// True once after `reconnectNow(resumed: true)`.
    func takeResumePending() -> Bool {
        state.withLock { state in
            defer { state.resumePending = false }
            return state.resumePending
        }
    }
}
