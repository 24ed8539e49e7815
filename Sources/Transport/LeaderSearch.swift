import Wire

/// Finding and following the elected manager from a list of bootstrap addresses (Snooze's
/// `general.bootstrapNodes`; docs/ha.md "Following the leader"). Pure: events in, one action out, no I/O; the
/// jitter of the waits comes from the caller's generator.
///
/// Every connection is checked with a LeaderQuery before it is used: the manager dialled either says it leads
/// (follow it on that connection), names another (dial that one), or knows none (try the next bootstrap address).
/// After a whole round of the list without a leader, and whenever the leader is lost (the connection closed, an
/// Error `notLeader`), it waits a backoff before asking again from the top of the list.
public struct LeaderSearch: Sendable {
    public enum Event: Hashable, Sendable {
        /// Begin (the first action is a dial).
        case start
        /// The manager dialled answered the LeaderQuery; `byLeader` when the one it names is itself (its Welcome's
        /// node name is the leader's id).
        case answered(LeaderReply.Leader, byLeader: Bool)
        /// The manager dialled could not be reached or did not answer the LeaderQuery.
        case unreachable
        /// The connection being followed closed, or the leader answered Error `notLeader` (it lost the lead).
        case leaderLost
        /// A wait asked for has passed.
        case timerFired
    }

    public enum Action: Hashable, Sendable {
        /// Connect to this manager and ask it who leads.
        case dial(HostPort)
        /// The connection just answered by the leader is the one to use.
        case follow
        /// Ask again after this long (then send `timerFired`).
        case wait(Duration)
    }

    /// A manager that names another which names another (an election moving on) is chased this many times
    /// before the next bootstrap address is tried.
    public static let maximumRedirects = 2

    public let bootstrap: [HostPort]
    public private(set) var backoff: Backoff
    /// Bootstrap addresses tried in this round.
    private var triedInRound = 0
    private var redirects = 0
    /// What is dialled or followed now.
    public private(set) var current: HostPort?
    public private(set) var isFollowing = false

    public init(bootstrap: [HostPort], backoff: Backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(5))) {
        precondition(!bootstrap.isEmpty, "a bootstrap list needs at least one address")
        self.bootstrap = bootstrap
        self.backoff = backoff
    }

    public mutating func handle(_ event: Event, using generator: inout some RandomNumberGenerator) -> Action {
        switch event {
        case .start, .timerFired:
            isFollowing = false
            return nextBootstrap(using: &generator)
        case .answered(.elected(_, let address), let byLeader):
            if byLeader {
                isFollowing = true
                backoff.reset()
                triedInRound = 0
                return .follow
            }
            guard redirects < Self.maximumRedirects, let leader = HostPort(address), leader != current else {
                return nextBootstrap(using: &generator)
            }
            redirects += 1
            current = leader
            return .dial(leader)
        case .answered(.nobody, _), .unreachable:
            return nextBootstrap(using: &generator)
        case .leaderLost:
            isFollowing = false
            triedInRound = 0
            current = nil
            return .wait(backoff.nextDelay(using: &generator))
        }
    }

    /// The next bootstrap address of this round, or a wait once all of them were tried.
    private mutating func nextBootstrap(using generator: inout some RandomNumberGenerator) -> Action {
        redirects = 0
        guard triedInRound < bootstrap.count else {
            triedInRound = 0
            current = nil
            return .wait(backoff.nextDelay(using: &generator))
        }
        let address = bootstrap[triedInRound]
        triedInRound += 1
        current = address
        return .dial(address)
    }
}
