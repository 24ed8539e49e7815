/// One power reading of a host's BMC.
public struct PowerSample: Sendable, Hashable {
    /// Offset from the meter's monotonic origin.
    public var time: Duration
    public var watts: Double
    /// Whether the host was up (not asleep or off) when the reading was taken.
    public var awake: Bool

    public init(time: Duration, watts: Double, awake: Bool) {
        self.time = time
        self.watts = watts
        self.awake = awake
    }
}
