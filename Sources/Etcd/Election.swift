import Logging
import Synchronization

/// A candidate in a leader election on etcd: runs `ElectionMachine`'s actions against an `EtcdClient` and feeds
/// back what happened, timed by the injected clock. `run()` campaigns until its task is cancelled, then steps down
/// and revokes its lease so the next candidate leads at once.
///
/// `isLeader` is true only while the machine is in its leading phase; `onChange` hears every change as it
/// happens (called under no lock, from the election's task: keep it short).
public final class Election: Sendable {
    public enum Change: Sendable, Equatable {
        /// This candidate leads; its election key and that key's create_revision.
        case leading(key: String, revision: Int64)
        case stoppedLeading(ElectionMachine.StopReason)
    }

    public let prefix: String
    public let value: String
    let client: EtcdClient
    let logger: Logger
    let now: @Sendable () -> Duration
    let sleep: @Sendable (Duration) async throws -> Void
    let tickInterval: Duration

    private struct Inner: Sendable {
        var machine: ElectionMachine
        var key: String?
        var watch: Task<Void, Never>?
    }
    private let inner: Mutex<Inner>
    private let events: AsyncStream<ElectionMachine.Event>.Continuation
    private let eventStream: AsyncStream<ElectionMachine.Event>
    private let onChange: @Sendable (Change) -> Void

    /// A candidate under `prefix` (a trailing `/` is added) whose key holds `value` (what "who leads" reads).
    public init<C: Clock>(
        client: EtcdClient,
        prefix: String,
        value: String,
        settings: ElectionMachine.Settings,
        clock: C = ContinuousClock(),
        logger: Logger,
        onChange: @escaping @Sendable (Change) -> Void = { _ in }
    ) where C.Duration == Duration {
        self.onChange = onChange
        self.client = client
        self.prefix = prefix.hasSuffix("/") ? prefix : prefix + "/"
        self.value = value
        self.logger = logger
        let start = clock.now
        now = { start.duration(to: clock.now) }
        sleep = { try await clock.sleep(for: $0) }
        // Often enough that a step-down lands well inside the lease's unsafe last third.
        tickInterval = min(.milliseconds(100), .seconds(settings.ttlSeconds) / 20)
        inner = Mutex(Inner(machine: ElectionMachine(settings: settings)))
        (eventStream, events) = AsyncStream.makeStream()
    }

    public var isLeader: Bool { inner.withLock { $0.machine.isLeading } }

    /// Our election key while we hold a lease.
    public var key: String? { inner.withLock { $0.key } }

    /// The current leader's key and value (the oldest key under the prefix), or nil when nobody campaigns.
    public static func leader(client: EtcdClient, prefix: String) async throws(EtcdError) -> EtcdKeyValue? {
        let prefix = prefix.hasSuffix("/") ? prefix : prefix + "/"
        return try await client.range(prefix: prefix, sort: .createRevision, limit: 1).keyValues.first
    }

    /// Campaigns until cancelled; on cancellation steps down and revokes the lease.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [events, sleep, now, tickInterval] in
                while !Task.isCancelled {
                    try? await sleep(tickInterval)
                    events.yield(.tick(now: now()))
                }
            }
            events.yield(.start(now: now()))
            for await event in eventStream {
                if Task.isCancelled { break }
                for action in apply(event) { perform(action, in: &group) }
            }
            // Cancelled: step down now, then give the lease back (bounded by the client's request timeout).
            for action in apply(.resign) {
                if case .revokeLease(let lease) = action {
                    // Not a child task: ours is cancelled, and the revoke must still go out.
                    let client = client
                    await Task { try? await client.revokeLease(lease) }.value
                } else {
                    perform(action, in: &group)
                }
            }
            group.cancelAll()
        }
        events.finish()
    }

    /// Feeds `event` to the machine; leading and stepping down take effect here, under the lock, so `isLeader`
    /// never lags the machine.
    private func apply(_ event: ElectionMachine.Event) -> [ElectionMachine.Action] {
        let (actions, key) = inner.withLock { inner in
            let actions = inner.machine.handle(event)
            for action in actions {
                if case .cancelWatch = action {
                    inner.watch?.cancel()
                    inner.watch = nil
                }
            }
            return (actions, inner.key)
        }
        for action in actions {
            switch action {
            case .startLeading:
                let revision: Int64
                if case .leading(let leadingRevision) = inner.withLock({ $0.machine.phase }) {
                    revision = leadingRevision
                } else {
                    revision = 0
                }
                logger.notice("leading", metadata: ["key": "\(key ?? "?")", "revision": "\(revision)"])
                onChange(.leading(key: key ?? "", revision: revision))
            case .stopLeading(let reason):
                logger.warning("stopped leading", metadata: ["key": "\(key ?? "?")", "reason": "\(reason.rawValue)"])
                onChange(.stoppedLeading(reason))
            default: break
            }
        }
        return actions
    }

    private func perform(_ action: ElectionMachine.Action, in group: inout TaskGroup<Void>) {
        let client = client
        let events = events
        let now = now
        switch action {
        case .startLeading, .stopLeading, .cancelWatch:
            break  // done in apply
        case .grantLease(let ttl):
            group.addTask {
                let sentAt = now()
                do {
                    let lease = try await client.grantLease(ttl: ttl)
                    events.yield(.leaseGranted(lease: lease.id, sentAt: sentAt))
                } catch {
                    if !Task.isCancelled { self.logger.info("lease grant failed", metadata: ["error": "\(error)"]) }
                    events.yield(.callFailed(now: now()))
                }
            }
        case .createKey(let lease):
            let key = prefix + String(lease, radix: 16)
            inner.withLock { $0.key = key }
            group.addTask { [value] in
                do {
                    let result = try await client.transaction(
                        if: [EtcdCompare(key: key, .equal, .createRevision(0))],
                        then: [.put(key: key, value: Array(value.utf8), lease: lease)],
                        else: [.get(key: key)]
                    )
                    var revision = result.revision
                    if !result.succeeded, case .range(let found) = result.results.first, let existing = found.first {
                        revision = existing.createRevision
                    }
                    events.yield(.keyCreated(lease: lease, revision: revision))
                } catch {
                    if !Task.isCancelled {
                        self.logger.info("creating the election key failed", metadata: ["error": "\(error)"])
                    }
                    events.yield(.callFailed(now: now()))
                }
            }
        case .findPredecessor(let revision):
            group.addTask { [prefix] in
                do {
                    let range = try await client.range(
                        prefix: prefix,
                        sort: .createRevision,
                        descending: true,
                        limit: 1,
                        maxCreateRevision: revision - 1
                    )
                    events.yield(
                        .ranked(
                            revision: revision,
                            predecessor: range.keyValues.first?.key,
                            readAt: range.revision,
                            now: now()
                        )
                    )
                } catch {
                    if !Task.isCancelled { self.logger.info("ranking failed", metadata: ["error": "\(error)"]) }
                    events.yield(.callFailed(now: now()))
                }
            }
        case .watchPredecessor(let key, let fromRevision, let revision):
            startWatch(key: key, fromRevision: fromRevision) { deleted in
                events.yield(deleted ? .predecessorGone(revision: revision) : .callFailed(now: now()))
            }
        case .watchOwnKey:
            guard let key = inner.withLock({ $0.key }) else { return }
            startWatch(key: key, fromRevision: 0) { deleted in
                // A watch that broke while leading is harmless: the keepalives decide.
                if deleted { events.yield(.keyLost(now: now())) }
            }
        case .keepAlive(let lease):
            group.addTask {
                let sentAt = now()
                do throws(EtcdError) {
                    try await client.keepAlive(lease)
                    events.yield(.keepAliveConfirmed(lease: lease, sentAt: sentAt))
                } catch {
                    if case .leaseExpired = error {
                        events.yield(.keepAliveFailed(lease: lease, expired: true, now: now()))
                    } else {
                        self.logger.info("keepalive failed", metadata: ["lease": "\(lease)", "error": "\(error)"])
                        events.yield(.keepAliveFailed(lease: lease, expired: false, now: now()))
                    }
                }
            }
        case .revokeLease(let lease):
            group.addTask { try? await client.revokeLease(lease) }
        }
    }

    /// Watches `key` until it is deleted (`report(true)`) or the watch breaks (`report(false)`); replaces any
    /// earlier watch.
    private func startWatch(key: String, fromRevision: Int64, report: @escaping @Sendable (Bool) -> Void) {
        let client = client
        let task = Task {
            do {
                for try await batch in client.watch(key, fromRevision: fromRevision)
                where batch.contains(where: { $0.kind == .delete }) {
                    report(true)
                    return
                }
            } catch {
                if !Task.isCancelled { report(false) }
            }
        }
        inner.withLock { inner in
            inner.watch?.cancel()
            inner.watch = task
        }
    }
}
