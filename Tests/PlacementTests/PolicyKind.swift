import Placement

/// The policies, so that every rule can be checked against each of them.
enum PolicyKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case firstFit
    case roundRobin
    case bestFitDecreasing
    case powerAware

    var description: String { rawValue }

    func make(fillLimit: ResourceFractions = .one) -> any PlacementPolicy {
        switch self {
        case .firstFit: FirstFit(fillLimit: fillLimit)
        case .roundRobin: RoundRobin(fillLimit: fillLimit)
        case .bestFitDecreasing: BestFitDecreasing(fillLimit: fillLimit)
        case .powerAware: PowerAwarePlacement(fillLimit: fillLimit)
        }
    }
}
