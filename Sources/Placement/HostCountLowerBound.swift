/// The fewest hosts any placement could use for a total demand, to judge how close a plan comes to optimal.
public enum HostCountLowerBound {
    /// Relative slack so that a demand of exactly n hosts' worth is not rounded up to n + 1.
    private static let tolerance = 1e-9

    /// ⌈demand ÷ capacity⌉ in the tightest dimension, for identical hosts; nil when a dimension with demand has no
    /// capacity.
    public static func hosts(covering demand: ResourceVector, capacity: ResourceVector) -> Int? {
        var bound = 0
        for dimension in ResourceDimension.allCases where demand[dimension] > 0 {
            guard capacity[dimension] > 0 else { return nil }
            let needed = (demand[dimension] / capacity[dimension] * (1 - tolerance)).rounded(.up)
            bound = max(bound, Int(needed))
        }
        return bound
    }

    /// For mixed hosts: in each dimension, the fewest hosts whose summed capacity covers the demand when the
    /// largest are taken first; the bound is the largest of those counts. Nil when all hosts together fall short.
    public static func hosts(covering demand: ResourceVector, capacities: [ResourceVector]) -> Int? {
        var bound = 0
        for dimension in ResourceDimension.allCases where demand[dimension] > 0 {
            let needed = demand[dimension] * (1 - tolerance)
            var covered = 0.0
            var count = 0
            for capacity in capacities.map({ $0[dimension] }).sorted(by: >) where covered < needed {
                covered += capacity
                count += 1
            }
            guard covered >= needed else { return nil }
            bound = max(bound, count)
        }
        return bound
    }
}
