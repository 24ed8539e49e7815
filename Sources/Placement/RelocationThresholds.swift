/// Snooze's three load thresholds per dimension, as fractions of a host's capacity: below MIN in every dimension a
/// host is underloaded (evacuate it), above MAX in any dimension it is overloaded (move VMs off it), and MID caps
/// how full relocation and consolidation may fill a destination. Always MIN < MID < MAX, each within [0, 1].
/// Unlike Snooze's (0, 1, 1), the defaults switch detection on.
public struct RelocationThresholds: Sendable, Hashable {
    public private(set) var minimum: ResourceFractions
    public private(set) var mid: ResourceFractions
    public private(set) var maximum: ResourceFractions

    /// MIN 0.2, MID 0.8, MAX 0.9 in every dimension.
    public static let `default` = RelocationThresholds(
        checked: ResourceFractions(uniform: 0.2),
        mid: ResourceFractions(uniform: 0.8),
        maximum: ResourceFractions(uniform: 0.9)
    )

    /// Fails naming the first dimension whose thresholds are out of [0, 1] or not strictly increasing.
    public init(
        minimum: ResourceFractions,
        mid: ResourceFractions,
        maximum: ResourceFractions
    ) throws(RelocationThresholdsError) {
        for dimension in ResourceDimension.allCases {
            let values = [("MIN", minimum[dimension]), ("MID", mid[dimension]), ("MAX", maximum[dimension])]
            for (name, value) in values where !(0...1).contains(value) {
                throw .outOfRange(dimension: dimension, threshold: name, value: value)
            }
            for ((lowerName, lower), (upperName, upper)) in zip(values, values.dropFirst()) where !(lower < upper) {
                throw .outOfOrder(
                    dimension: dimension,
                    lower: lowerName,
                    lowerValue: lower,
                    upper: upperName,
                    upperValue: upper
                )
            }
        }
        self.init(checked: minimum, mid: mid, maximum: maximum)
    }

    /// The same thresholds in every dimension.
    public init(uniformMinimum minimum: Double, mid: Double, maximum: Double) throws(RelocationThresholdsError) {
        try self.init(
            minimum: ResourceFractions(uniform: minimum),
            mid: ResourceFractions(uniform: mid),
            maximum: ResourceFractions(uniform: maximum)
        )
    }

    private init(checked minimum: ResourceFractions, mid: ResourceFractions, maximum: ResourceFractions) {
        self.minimum = minimum
        self.mid = mid
        self.maximum = maximum
    }
}
