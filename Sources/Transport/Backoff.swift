/// Exponential backoff with full jitter: before retry n (from 0) wait a uniformly random time in
/// `0...min(maximum, initial × factor^n)`. Pure: the random numbers come from the caller's generator.
///
/// Full jitter spreads reconnecting agents out after a manager restart instead of having them all knock at once.
public struct Backoff: Hashable, Sendable {
    public let initial: Duration
    public let factor: Double
    public let maximum: Duration
    /// Delays handed out since the last reset.
    public private(set) var attempt: Int = 0

    public init(initial: Duration = .milliseconds(100), factor: Double = 2, maximum: Duration = .seconds(30)) {
        precondition(initial >= .zero, "initial backoff must not be negative")
        precondition(factor >= 1, "backoff factor must be at least 1")
        precondition(maximum >= initial, "maximum backoff must be at least the initial backoff")
        self.initial = initial
        self.factor = factor
        self.maximum = maximum
    }

    /// The longest delay retry `attempt` can get: `min(maximum, initial × factor^attempt)`.
    public func ceiling(forAttempt attempt: Int) -> Duration {
        .nanoseconds(ceilingNanoseconds(forAttempt: attempt))
    }

    /// The delay before the next retry, then counts the attempt.
    public mutating func nextDelay(using generator: inout some RandomNumberGenerator) -> Duration {
        let ceiling = ceilingNanoseconds(forAttempt: attempt)
        attempt += 1
        return .nanoseconds(Int64.random(in: 0...ceiling, using: &generator))
    }

    /// Starts over from `initial`, e.g. once a connection has been established.
    public mutating func reset() {
        attempt = 0
    }

    private func ceilingNanoseconds(forAttempt attempt: Int) -> Int64 {
        let maximum = Self.nanoseconds(self.maximum)
        // Grow step by step and stop at the cap, so neither overflow nor a long outage's attempt count matters.
        var ceiling = Double(Self.nanoseconds(initial))
        var remaining = max(attempt, 0)
        while remaining > 0, ceiling > 0, ceiling < Double(maximum), factor > 1 {
            ceiling *= factor
            remaining -= 1
        }
        return ceiling >= Double(maximum) ? maximum : Int64(ceiling)
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        let (total, overflow2) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow2 ? .max : total
    }
}
