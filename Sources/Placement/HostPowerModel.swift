/// A host's power draw as a function of its CPU utilisation: watts at evenly spaced utilisations from 0 % to 100 %,
/// joined by straight lines. A measured linear model has two points (idle and full load); a SPECpower-style table
/// has eleven (0 %, 10 %, …, 100 %).
public struct HostPowerModel: Sendable, Hashable {
    /// Watts at utilisation `i / (count - 1)`; at least two points, finite, not negative, never decreasing.
    public let watts: [Double]

    public enum ModelError: Error, Equatable, CustomStringConvertible {
        case tooFewPoints(Int)
        case notATenPercentTable(Int)
        case invalidWatts(index: Int, value: Double)
        case decreasing(index: Int, value: Double, previous: Double)

        public var description: String {
            switch self {
            case .tooFewPoints(let count):
                "a power model needs watts at two utilisations at least (idle and full load), got \(count)"
            case .notATenPercentTable(let count):
                "a SPECpower table needs 11 values (watts at 0 %, 10 %, …, 100 % CPU), got \(count)"
            case .invalidWatts(let index, let value):
                "power model point \(index) is \(value) W: watts must be finite and not negative"
            case .decreasing(let index, let value, let previous):
                "power model point \(index) is \(value) W, less than the \(previous) W before it: "
                    + "power must not fall as load grows"
            }
        }
    }

    /// Watts at evenly spaced utilisations from 0 % to 100 % (`watts.count - 1` steps).
    public init(watts: [Double]) throws(ModelError) {
        guard watts.count >= 2 else { throw .tooFewPoints(watts.count) }
        for (index, value) in watts.enumerated() {
            guard value.isFinite, value >= 0 else { throw .invalidWatts(index: index, value: value) }
            if index > 0, value < watts[index - 1] {
                throw .decreasing(index: index, value: value, previous: watts[index - 1])
            }
        }
        self.watts = watts
    }

    /// A measured linear model: `idleWatts` with no load, `maxWatts` at full load.
    public static func linear(idleWatts: Double, maxWatts: Double) throws(ModelError) -> HostPowerModel {
        try HostPowerModel(watts: [idleWatts, maxWatts])
    }

    /// A SPECpower-style table: watts at 0 %, 10 %, …, 100 % CPU (eleven values).
    public static func specPower(_ watts: [Double]) throws(ModelError) -> HostPowerModel {
        guard watts.count == 11 else { throw .notATenPercentTable(watts.count) }
        return try HostPowerModel(watts: watts)
    }

    /// For hosts that carry no model: 100 W idle, 250 W at full load, the shape of a typical two-socket server.
    public static let defaultLinear = HostPowerModel(unchecked: [100, 250])

    private init(unchecked watts: [Double]) {
        self.watts = watts
    }

    /// Watts at `utilization` (a fraction). Outside 0…1 the first or last segment is extended, so the difference
    /// between two utilisations never shrinks when the upper one grows, even for a host already over-committed.
    public func watts(atUtilization utilization: Double) -> Double {
        let scaled = utilization * Double(watts.count - 1)
        let segment = segment(containing: scaled)
        return watts[segment] + (watts[segment + 1] - watts[segment]) * (scaled - Double(segment))
    }

    /// The smallest slope (watts per unit of utilisation) of the segments at or above `utilization`: no increase
    /// of load starting there costs less per unit.
    func minimumSlope(from utilization: Double) -> Double {
        let steps = watts.count - 1
        var slope = Double.infinity
        for segment in segment(containing: utilization * Double(steps))..<steps {
            slope = Swift.min(slope, watts[segment + 1] - watts[segment])
        }
        return slope * Double(steps)
    }

    /// The segment a point `scaled` steps from 0 % lies on, the first or last one outside the table.
    private func segment(containing scaled: Double) -> Int {
        let last = watts.count - 2
        guard scaled >= 1 else { return 0 }
        guard scaled < Double(last) else { return last }
        return Int(scaled)
    }
}
