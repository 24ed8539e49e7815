/// Estimates a VM's demand from its monitoring samples, as Snooze's group manager does: the mean of the newest
/// `window` samples, or the requested capacity × packing density when there is nothing to go on.
public struct Estimator: Sendable, Hashable {
    /// How many of the newest samples are averaged (Snooze: 15 of the 30 kept).
    public var window: Int
    /// When true, samples are ignored and every VM is taken at its (density-scaled) request.
    public var isStatic: Bool
    /// Per-dimension factor applied to requested capacity; below 1 overcommits.
    public var packingDensity: ResourceFractions

    public static let defaultWindow = 15

    public init(
        window: Int = Estimator.defaultWindow,
        isStatic: Bool = false,
        packingDensity: ResourceFractions = .one
    ) {
        self.window = window
        self.isStatic = isStatic
        self.packingDensity = packingDensity
    }

    /// The estimated demand. `samples` are oldest first, newest last.
    public func estimate(samples: some Collection<ResourceVector>, requested: ResourceVector) -> ResourceVector {
        guard !isStatic, window > 0, !samples.isEmpty else {
            return requested.scaled(by: packingDensity)
        }
        var sum = SIMD4<Double>(repeating: 0)
        var count = 0
        for sample in samples.suffix(window) {
            sum += sample.simd
            count += 1
        }
        return ResourceVector(simd: sum / Double(count))
    }

    /// A placement request whose estimate comes from `samples`.
    public func request(id: String, requested: ResourceVector, samples: some Collection<ResourceVector>) -> VMRequest {
        VMRequest(id: id, requested: requested, estimated: estimate(samples: samples, requested: requested))
    }
}
