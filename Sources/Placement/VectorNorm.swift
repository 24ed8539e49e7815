/// A norm over normalised vectors, used to rank hosts by load and VMs by size. Snooze applied these to raw
/// vectors, where memory in KB outweighed everything else; taking `ResourceFractions` rules that out.
public enum VectorNorm: Sendable, Hashable, CaseIterable {
    /// Sum of the absolute fractions.
    case l1
    /// Square root of the sum of squared fractions.
    case euclid
    /// Largest absolute fraction: the tightest dimension.
    case max

    public func value(of fractions: ResourceFractions) -> Double {
        value(of: fractions.simd)
    }

    func value(of fractions: SIMD4<Double>) -> Double {
        let magnitudes = fractions.replacing(with: -fractions, where: fractions .< 0)
        switch self {
        case .l1:
            return magnitudes.sum()
        case .euclid:
            return (magnitudes * magnitudes).sum().squareRoot()
        case .max:
            return magnitudes.max()
        }
    }
}
