/// A resource vector expressed as fractions of some capacity, so that cores, bytes and bytes per second weigh
/// the same. Also used for per-dimension factors: MID fill limits and packing densities.
public struct ResourceFractions: Sendable, Hashable {
    public var cpu: Double
    public var memory: Double
    public var networkRx: Double
    public var networkTx: Double

    public init(cpu: Double, memory: Double, networkRx: Double, networkTx: Double) {
        self.cpu = cpu
        self.memory = memory
        self.networkRx = networkRx
        self.networkTx = networkTx
    }

    /// The same fraction in every dimension.
    public init(uniform fraction: Double) {
        self.init(cpu: fraction, memory: fraction, networkRx: fraction, networkTx: fraction)
    }

    /// 1 in every dimension: the whole capacity, or no density scaling.
    public static let one = ResourceFractions(uniform: 1)

    public subscript(dimension: ResourceDimension) -> Double {
        get {
            switch dimension {
            case .cpu: cpu
            case .memory: memory
            case .networkRx: networkRx
            case .networkTx: networkTx
            }
        }
        set {
            switch dimension {
            case .cpu: cpu = newValue
            case .memory: memory = newValue
            case .networkRx: networkRx = newValue
            case .networkTx: networkTx = newValue
            }
        }
    }
}

extension ResourceFractions {
    var simd: SIMD4<Double> {
        SIMD4(cpu, memory, networkRx, networkTx)
    }

    init(simd: SIMD4<Double>) {
        self.init(cpu: simd[0], memory: simd[1], networkRx: simd[2], networkTx: simd[3])
    }
}
