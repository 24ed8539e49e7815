/// How a publisher waits and logs after failures to reach its broker (pure): waits double from `initial` up to
/// `maximum`; the 1st, 2nd, 4th, 8th… failure in a row is logged, so a long outage does not flood the journal.
public struct BrokerRetry: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration

    public init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = max(initial, maximum)
    }

    /// The wait after `failures` failures in a row (≥ 1).
    public func delay(afterFailures failures: Int) -> Duration {
        var delay = initial
        var step = 1
        while step < failures, delay < maximum {
            delay = delay * 2
            step += 1
        }
        return min(delay, maximum)
    }

    /// Whether the `failures`-th failure in a row is logged: powers of two.
    public func logs(failure failures: Int) -> Bool {
        failures > 0 && failures & (failures - 1) == 0
    }
}
