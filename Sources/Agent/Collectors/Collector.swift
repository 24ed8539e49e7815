/// One source of samples (libvirt domains, the host's /proc, a BMC). The sampler calls `collect` once per
/// interval; a collector keeps whatever previous counters it needs to turn totals into rates, and returns
/// no rate rather than a fake zero until it has two readings.
public protocol Collector: Sendable {
    associatedtype Output: Sendable
    /// Short name for logs and timing.
    var name: String { get }
    mutating func collect(at time: SampleTime) async throws -> Output
}

/// When a sampling round happened: a monotonic instant for rates and a wall-clock time for reports.
public struct SampleTime: Sendable, Hashable {
    public var monotonic: ContinuousClock.Instant
    public var wallClockMilliseconds: Int64

    public init(monotonic: ContinuousClock.Instant, wallClockMilliseconds: Int64) {
        self.monotonic = monotonic
        self.wallClockMilliseconds = wallClockMilliseconds
    }

    /// Seconds from `earlier` to `self`.
    public func seconds(since earlier: SampleTime) -> Double {
        (monotonic - earlier.monotonic) / .seconds(1)
    }
}

/// Change per second of a monotonically increasing counter; nil across a reset or with no elapsed time.
@inlinable
func ratePerSecond(from previous: UInt64, to current: UInt64, seconds: Double) -> Double? {
    guard seconds > 0, current >= previous else { return nil }
    return Double(current - previous) / seconds
}
