/// After a manager starts or takes over, placements wait for the hosts its database last saw ACTIVE to rejoin, so
/// a start submitted right then is not left unplaced for want of hosts whose agents are only reconnecting.
///
/// The window closes for good once every such host is back, or once `quiet` has passed since it opened or since
/// the last of them came back: hosts trickling in on a loaded machine keep it open, one that is really gone closes
/// it one quiet period after the others. It never stays open past `maximum`.
struct RejoinWindow: Sendable {
    enum Step: Equatable, Sendable {
        /// Keep waiting.
        case wait
        /// Place now. `missing`: the expected hosts still away as the window closed (empty when all are back, or
        /// when it had closed before).
        case place(missing: Set<String>)
    }

    let opened: ContinuousClock.Instant
    let quiet: Duration
    let maximum: Duration
    private(set) var lastArrival: ContinuousClock.Instant
    private(set) var arrived: Set<String> = []
    private(set) var isClosed = false

    init(opened: ContinuousClock.Instant, quiet: Duration, maximum: Duration) {
        self.opened = opened
        self.quiet = quiet
        self.maximum = max(maximum, quiet)
        self.lastArrival = opened
    }

    /// When the window would close if no other host came back.
    var deadline: ContinuousClock.Instant { min(lastArrival + quiet, opened + maximum) }

    /// What a placement should do now, given the hosts expected back and those connected with an inventory.
    mutating func step(
        expected: Set<String>,
        ready: Set<String>,
        at now: ContinuousClock.Instant
    ) -> Step {
        guard !isClosed else { return .place(missing: []) }
        let back = expected.intersection(ready)
        if !back.isSubset(of: arrived) {
            arrived.formUnion(back)
            lastArrival = max(lastArrival, now)
        }
        if expected.isSubset(of: ready) {
            isClosed = true
            return .place(missing: [])
        }
        guard now < deadline else {
            isClosed = true
            return .place(missing: expected.subtracting(ready))
        }
        return .wait
    }
}
