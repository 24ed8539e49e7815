/// Estimates a pre-copy live migration: the first round sends all guest memory, each later round sends what the
/// guest dirtied during the previous one (never more than its memory), until what is left can be sent within the
/// allowed downtime (stop-and-copy) or the rounds run out. Cost grows with memory and, steeply, with the dirty rate;
/// a guest that dirties memory as fast as the network sends it never converges and costs every round in full.
public struct MigrationCostModel: Sendable, Hashable {
    /// Bandwidth one migration gets, bytes per second (default 1 Gbit/s).
    public var bandwidthBytesPerSecond: Double
    /// The pause the final stop-and-copy round may take (QEMU's default downtime limit: 300 ms).
    public var allowedDowntimeSeconds: Double
    /// Pre-copy rounds before the migration counts as non-converging.
    public var maximumRounds: Int

    public init(
        bandwidthBytesPerSecond: Double = 125_000_000,
        allowedDowntimeSeconds: Double = 0.3,
        maximumRounds: Int = 30
    ) {
        self.bandwidthBytesPerSecond = bandwidthBytesPerSecond
        self.allowedDowntimeSeconds = allowedDowntimeSeconds
        self.maximumRounds = maximumRounds
    }

    public func cost(of vm: VMSnapshot) -> MigrationCost {
        cost(memoryBytes: vm.memoryToCopyBytes, dirtyRateBytesPerSecond: vm.memoryDirtyRateBytesPerSecond)
    }

    public func cost(memoryBytes: Double, dirtyRateBytesPerSecond: Double) -> MigrationCost {
        let bandwidth = bandwidthBytesPerSecond
        let memory = Swift.max(memoryBytes, 0)
        guard bandwidth > 0, bandwidth.isFinite, memory.isFinite, dirtyRateBytesPerSecond.isFinite else {
            return MigrationCost(bytes: .infinity, seconds: .infinity, converges: false)
        }
        let dirtyRate = Swift.max(dirtyRateBytesPerSecond, 0)
        let stopAndCopyBytes = bandwidth * Swift.max(allowedDowntimeSeconds, 0)
        var remaining = memory
        var sent = 0.0
        for _ in 0..<Swift.max(maximumRounds, 1) {
            if remaining <= stopAndCopyBytes {
                sent += remaining
                return MigrationCost(bytes: sent, seconds: sent / bandwidth)
            }
            sent += remaining
            remaining = Swift.min(memory, dirtyRate * remaining / bandwidth)
        }
        // Out of rounds: what is left goes only once the watchdog has paused or throttled the guest.
        sent += remaining
        return MigrationCost(bytes: sent, seconds: sent / bandwidth, converges: remaining <= stopAndCopyBytes)
    }
}
