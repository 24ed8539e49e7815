/// How a host saves power. The order is the preference when a host cannot do the configured action: the
/// cheapest to come back from first.
public enum PowerAction: String, Sendable, Hashable, CaseIterable, Comparable {
    case suspendToRam
    case suspendToBoth
    case suspendToDisk
    case shutdown

    private var rank: Int {
        switch self {
        case .suspendToRam: 0
        case .suspendToBoth: 1
        case .suspendToDisk: 2
        case .shutdown: 3
        }
    }

    public static func < (lhs: PowerAction, rhs: PowerAction) -> Bool { lhs.rank < rhs.rank }
}
