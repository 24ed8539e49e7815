/// Why a set of MIN/MID/MAX thresholds was refused.
public enum RelocationThresholdsError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A threshold is not a fraction in [0, 1] (or is not a number).
    case outOfRange(dimension: ResourceDimension, threshold: String, value: Double)
    /// `lower` is not strictly below `upper`.
    case outOfOrder(dimension: ResourceDimension, lower: String, lowerValue: Double, upper: String, upperValue: Double)

    public var description: String {
        switch self {
        case .outOfRange(let dimension, let threshold, let value):
            "\(dimension) \(threshold) threshold \(value) is outside [0, 1]"
        case .outOfOrder(let dimension, let lower, let lowerValue, let upper, let upperValue):
            "\(dimension) thresholds out of order: \(lower) \(lowerValue) must be below \(upper) \(upperValue) "
                + "(MIN < MID < MAX)"
        }
    }
}
