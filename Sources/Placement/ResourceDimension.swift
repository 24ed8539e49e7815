/// One axis of a resource vector.
public enum ResourceDimension: Int, CaseIterable, Sendable, Hashable {
    case cpu
    case memory
    case networkRx
    case networkTx
}
