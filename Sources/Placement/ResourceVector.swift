/// An amount of each resource a host offers or a VM uses: CPU in cores, memory in bytes, network in bytes per
/// second. Raw units differ by orders of magnitude, so compare vectors across dimensions only after
/// `normalised(to:)`.
public struct ResourceVector: Sendable, Hashable {
    public var cpuCores: Double
    public var memoryBytes: Double
    public var networkRxBytesPerSecond: Double
    public var networkTxBytesPerSecond: Double

    public init(
        cpuCores: Double = 0,
        memoryBytes: Double = 0,
        networkRxBytesPerSecond: Double = 0,
        networkTxBytesPerSecond: Double = 0
    ) {
        self.cpuCores = cpuCores
        self.memoryBytes = memoryBytes
        self.networkRxBytesPerSecond = networkRxBytesPerSecond
        self.networkTxBytesPerSecond = networkTxBytesPerSecond
    }

    public static let zero = ResourceVector()

    public subscript(dimension: ResourceDimension) -> Double {
        get {
            switch dimension {
            case .cpu: cpuCores
            case .memory: memoryBytes
            case .networkRx: networkRxBytesPerSecond
            case .networkTx: networkTxBytesPerSecond
            }
        }
        set {
            switch dimension {
            case .cpu: cpuCores = newValue
            case .memory: memoryBytes = newValue
            case .networkRx: networkRxBytesPerSecond = newValue
            case .networkTx: networkTxBytesPerSecond = newValue
            }
        }
    }

    /// True when every component is at most the matching component of `bound`.
    public func isComponentwiseLessThanOrEqual(to bound: ResourceVector) -> Bool {
        cpuCores <= bound.cpuCores && memoryBytes <= bound.memoryBytes
            && networkRxBytesPerSecond <= bound.networkRxBytesPerSecond
            && networkTxBytesPerSecond <= bound.networkTxBytesPerSecond
    }

    public func scaled(by factor: Double) -> ResourceVector {
        ResourceVector(simd: simd * factor)
    }

    /// Multiplies each component by the matching fraction, e.g. capacity × MID threshold or demand × packing density.
    public func scaled(by fractions: ResourceFractions) -> ResourceVector {
        ResourceVector(simd: simd * fractions.simd)
    }

    /// Each component as a fraction of `capacity`. A dimension with no capacity maps 0 to 0 and anything else to
    /// ±infinity, so a demand for a resource the host lacks can never look small.
    public func normalised(to capacity: ResourceVector) -> ResourceFractions {
        ResourceFractions(simd: Self.divide(simd, by: capacity.simd))
    }

    /// Componentwise maximum.
    public static func maximum(_ a: ResourceVector, _ b: ResourceVector) -> ResourceVector {
        ResourceVector(simd: a.simd.replacing(with: b.simd, where: a.simd .< b.simd))
    }

    public static func + (lhs: ResourceVector, rhs: ResourceVector) -> ResourceVector {
        ResourceVector(simd: lhs.simd + rhs.simd)
    }

    public static func - (lhs: ResourceVector, rhs: ResourceVector) -> ResourceVector {
        ResourceVector(simd: lhs.simd - rhs.simd)
    }

    public static func += (lhs: inout ResourceVector, rhs: ResourceVector) {
        lhs = lhs + rhs
    }

    public static func -= (lhs: inout ResourceVector, rhs: ResourceVector) {
        lhs = lhs - rhs
    }

    public static func * (lhs: ResourceVector, rhs: Double) -> ResourceVector {
        lhs.scaled(by: rhs)
    }

    public static func / (lhs: ResourceVector, rhs: Double) -> ResourceVector {
        ResourceVector(simd: lhs.simd / rhs)
    }
}

extension ResourceVector {
    /// The components in `ResourceDimension` order, for the placement engine's vectorised inner loops.
    var simd: SIMD4<Double> {
        SIMD4(cpuCores, memoryBytes, networkRxBytesPerSecond, networkTxBytesPerSecond)
    }

    init(simd: SIMD4<Double>) {
        self.init(
            cpuCores: simd[0],
            memoryBytes: simd[1],
            networkRxBytesPerSecond: simd[2],
            networkTxBytesPerSecond: simd[3]
        )
    }

    /// `value / capacity` with the zero-capacity rule of `normalised(to:)`.
    static func divide(_ value: SIMD4<Double>, by capacity: SIMD4<Double>) -> SIMD4<Double> {
        var result = value / capacity
        let noCapacity = capacity .== 0
        if any(noCapacity) {
            let zero = SIMD4<Double>(repeating: 0)
            let infinite = SIMD4<Double>(repeating: .infinity)
            result.replace(with: zero, where: noCapacity .& (value .== 0))
            result.replace(with: infinite, where: noCapacity .& (value .> 0))
            result.replace(with: -infinite, where: noCapacity .& (value .< 0))
        }
        return result
    }
}
