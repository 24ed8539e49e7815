/// The decisions of a leader election as etcd's concurrency.Election makes them, without I/O: a candidate holds a
/// lease and a key `PREFIX/LEASE` attached to it; the key with the lowest create_revision leads; a follower waits
/// for the deletion of the key created just before its own. The runner (`Election`) performs the actions and feeds
/// back what happened, with the time of its own clock.
///
/// Safety does not rest on etcd's word alone: a leader counts its lease as held only until `leadFraction` of the
/// TTL after the *sending* of the last keepalive etcd confirmed (etcd restarts the TTL when it receives it, later),
/// and stops acting as leader at that moment when no newer keepalive got through. Another candidate can only see
/// the key go when etcd expires the lease, a full TTL after its last renewal, so two leaders never overlap.
public struct ElectionMachine: Sendable, Equatable {
    public struct Settings: Sendable, Equatable {
        /// The lease TTL asked of etcd, in whole seconds.
        public var ttlSeconds: Int
        /// Keepalives are sent this often.
        public var keepAliveInterval: Duration
        /// The part of the TTL, after the sending of the last confirmed keepalive, during which leading is safe.
        public var leadFraction: Double
        /// The pause before starting over after a failed call.
        public var retryDelay: Duration

        public init(ttlSeconds: Int, leadFraction: Double = 2.0 / 3.0, retryDelay: Duration = .milliseconds(500)) {
            self.ttlSeconds = ttlSeconds
            self.keepAliveInterval = .seconds(ttlSeconds) / 3
            self.leadFraction = leadFraction
            self.retryDelay = retryDelay
        }

        var safeSpan: Duration { .seconds(ttlSeconds) * leadFraction }
    }

    /// Where the candidate stands.
    public enum Phase: Sendable, Equatable {
        case idle
        /// A lease grant is in flight.
        case granting
        /// The key is being created under the lease.
        case creatingKey
        /// The key exists; the candidate is looking for, or waiting on, the key created before its own.
        case waiting(revision: Int64)
        case leading(revision: Int64)
        /// A call failed: start over at `until`.
        case backingOff(until: Duration)
        case resigned
    }

    public enum StopReason: String, Sendable, Equatable {
        /// No keepalive confirmed within the safe part of the TTL (etcd unreachable or slow).
        case leaseUnconfirmed = "no keepalive confirmed within the safe part of the lease"
        /// etcd says the lease is gone.
        case leaseExpired = "etcd says the lease expired"
        /// The election key was deleted.
        case keyLost = "the election key was deleted"
        case resigned = "resigned"
    }

    public enum Event: Sendable, Equatable {
        case start(now: Duration)
        /// The lease grant sent at `sentAt` succeeded.
        case leaseGranted(lease: Int64, sentAt: Duration)
        /// The election key of `lease` exists (created now, or found from an earlier try) with this create_revision.
        case keyCreated(lease: Int64, revision: Int64)
        /// For the key of create_revision `revision`: the newest key created before it, or nil when ours is the
        /// oldest, read at store revision `readAt`.
        case ranked(revision: Int64, predecessor: String?, readAt: Int64, now: Duration)
        /// The predecessor watched for our key of create_revision `revision` was deleted.
        case predecessorGone(revision: Int64)
        /// The keepalive of `lease` sent at `sentAt` was confirmed.
        case keepAliveConfirmed(lease: Int64, sentAt: Duration)
        /// A keepalive of `lease` failed; `expired` when etcd said the lease is gone (not just unreachable).
        case keepAliveFailed(lease: Int64, expired: Bool, now: Duration)
        /// A grant, key creation, ranking or watch failed.
        case callFailed(now: Duration)
        /// Our own key was deleted.
        case keyLost(now: Duration)
        case tick(now: Duration)
        case resign
    }

    public enum Action: Sendable, Equatable {
        case grantLease(ttlSeconds: Int)
        /// Create `key` under `lease` unless it exists (txn on create_revision == 0), report its create_revision.
        case createKey(lease: Int64)
        /// Find the newest key under the prefix created before `revision`.
        case findPredecessor(revision: Int64)
        /// Watch `key` from store revision `fromRevision` on, and report its deletion.
        case watchPredecessor(key: String, fromRevision: Int64, revision: Int64)
        /// Watch our own key for deletion while leading.
        case watchOwnKey
        case keepAlive(lease: Int64)
        case startLeading
        case stopLeading(StopReason)
        /// End the lease (deleting our key); best effort.
        case revokeLease(lease: Int64)
        /// Stop the predecessor / own-key watch.
        case cancelWatch
    }

    public let settings: Settings
    public private(set) var phase: Phase = .idle
    public private(set) var lease: Int64?
    /// Until when the lease is known to be held, by our clock.
    public private(set) var heldUntil: Duration = .zero
    private var nextKeepAlive: Duration = .zero
    private var keepAliveInFlight = false

    public init(settings: Settings) { self.settings = settings }

    public var isLeading: Bool {
        if case .leading = phase { return true }
        return false
    }

    public mutating func handle(_ event: Event) -> [Action] {
        if phase == .resigned {
            // A grant that was in flight when we resigned: give it back.
            if case .leaseGranted(let lease, _) = event { return [.revokeLease(lease: lease)] }
            return []
        }
        switch event {
        case .start:
            guard phase == .idle else { return [] }
            return startOver(after: nil)

        case .leaseGranted(let lease, let sentAt):
            guard phase == .granting else { return [.revokeLease(lease: lease)] }
            self.lease = lease
            heldUntil = sentAt + settings.safeSpan
            nextKeepAlive = sentAt + settings.keepAliveInterval
            keepAliveInFlight = false
            phase = .creatingKey
            return [.createKey(lease: lease)]

        case .keyCreated(let lease, let revision):
            guard phase == .creatingKey, lease == self.lease else { return [] }
            phase = .waiting(revision: revision)
            return [.findPredecessor(revision: revision)]

        case .ranked(let revision, let predecessor, let readAt, let now):
            guard phase == .waiting(revision: revision) else { return [] }
            if let predecessor {
                return [.watchPredecessor(key: predecessor, fromRevision: readAt + 1, revision: revision)]
            }
            guard now < heldUntil else {
                // The lease may be gone already: do not lead on it.
                return startOver(after: nil)
            }
            phase = .leading(revision: revision)
            return [.startLeading, .watchOwnKey]

        case .predecessorGone(let revision):
            guard phase == .waiting(revision: revision) else { return [] }
            return [.findPredecessor(revision: revision)]

        case .keepAliveConfirmed(let lease, let sentAt):
            guard lease == self.lease else { return [] }
            keepAliveInFlight = false
            heldUntil = max(heldUntil, sentAt + settings.safeSpan)
            return []

        case .keepAliveFailed(let lease, let expired, let now):
            guard lease == self.lease else { return [] }
            keepAliveInFlight = false
            if expired { return startOver(after: .leaseExpired) }
            // Unreachable: try again soon; the tick steps down if the safe span runs out first.
            nextKeepAlive = min(nextKeepAlive, now + settings.retryDelay)
            return []

        case .callFailed(let now):
            switch phase {
            case .granting, .creatingKey, .waiting:
                return backOff(now: now)
            default: return []
            }

        case .keyLost:
            guard isLeading else { return [] }
            return startOver(after: .keyLost)

        case .tick(let now):
            if case .backingOff(let until) = phase {
                return now >= until ? startOver(after: nil) : []
            }
            guard let lease else { return [] }
            if now >= heldUntil {
                // Our clock says the lease may be gone: stop before etcd expires it, and start over.
                return startOver(after: isLeading ? .leaseUnconfirmed : nil)
            }
            if now >= nextKeepAlive, !keepAliveInFlight {
                keepAliveInFlight = true
                nextKeepAlive = now + settings.keepAliveInterval
                return [.keepAlive(lease: lease)]
            }
            return []

        case .resign:
            var actions: [Action] = []
            if isLeading { actions.append(.stopLeading(.resigned)) }
            actions.append(.cancelWatch)
            if let lease { actions.append(.revokeLease(lease: lease)) }
            phase = .resigned
            lease = nil
            return actions
        }
    }

    /// Drops the lease (stepping down first with `reason` when leading) and asks for a new one.
    private mutating func startOver(after reason: StopReason?) -> [Action] {
        var actions: [Action] = []
        if isLeading { actions.append(.stopLeading(reason ?? .leaseUnconfirmed)) }
        // Watches exist only while a lease is held.
        if lease != nil { actions.append(.cancelWatch) }
        if let lease { actions.append(.revokeLease(lease: lease)) }
        lease = nil
        keepAliveInFlight = false
        phase = .granting
        actions.append(.grantLease(ttlSeconds: settings.ttlSeconds))
        return actions
    }

    /// A call failed while campaigning: give up the lease and key, and start over from a new grant after a pause.
    private mutating func backOff(now: Duration) -> [Action] {
        var actions: [Action] = [.cancelWatch]
        if let lease { actions.append(.revokeLease(lease: lease)) }
        lease = nil
        keepAliveInFlight = false
        phase = .backingOff(until: now + settings.retryDelay)
        return actions
    }
}
