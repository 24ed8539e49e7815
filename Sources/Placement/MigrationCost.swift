/// What a live migration (or a set of them, one after another) is expected to take: bytes sent over the network
/// and seconds of copying.
public struct MigrationCost: Sendable, Hashable, Comparable {
    public var bytes: Double
    public var seconds: Double
    /// False when pre-copy cannot catch up with the guest (dirty rate at or above the bandwidth) within the model's
    /// rounds: the watchdog would have to throttle, pause or abort it.
    public var converges: Bool

    public init(bytes: Double, seconds: Double, converges: Bool = true) {
        self.bytes = bytes
        self.seconds = seconds
        self.converges = converges
    }

    public static let zero = MigrationCost(bytes: 0, seconds: 0)

    /// Cheaper first: converging before non-converging, then fewer seconds, then fewer bytes.
    public static func < (lhs: MigrationCost, rhs: MigrationCost) -> Bool {
        if lhs.converges != rhs.converges { return lhs.converges }
        if lhs.seconds != rhs.seconds { return lhs.seconds < rhs.seconds }
        return lhs.bytes < rhs.bytes
    }

    /// Migrations run one after another: bytes and seconds add up, and one that does not converge spoils the sum.
    public static func + (lhs: MigrationCost, rhs: MigrationCost) -> MigrationCost {
        MigrationCost(
            bytes: lhs.bytes + rhs.bytes,
            seconds: lhs.seconds + rhs.seconds,
            converges: lhs.converges && rhs.converges
        )
    }

    public static func += (lhs: inout MigrationCost, rhs: MigrationCost) {
        lhs = lhs + rhs
    }
}
