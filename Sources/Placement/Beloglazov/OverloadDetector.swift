/// Beloglazov & Buyya's host overload detectors (CPU only), as CloudSim 3.0.3 implements them: a static
/// threshold (THR), an adaptive threshold from the median absolute deviation of the host's recent utilisation
/// (MAD), and a prediction by linear regression over it (LR). MAD and LR fall back to a static threshold until
/// the host has enough history.
///
/// Utilisations are fractions of the host's CPU capacity. A host's history is the sum of the histories of the VMs
/// it runs now (each scaled to the host), newest first, one value per control interval, as CloudSim builds it.
public enum OverloadDetector: Sendable, Hashable {
    /// THR: overloaded above `threshold`.
    case staticThreshold(Double)
    /// MAD: overloaded above 1 − safety × MAD(history); `fallbackThreshold` with fewer than 12 values.
    case medianAbsoluteDeviation(safety: Double, fallbackThreshold: Double)
    /// LR: overloaded when safety × the utilisation predicted one migration time past the newest of the last 10
    /// values reaches 1; `fallbackThreshold` with fewer than 10 values.
    case localRegression(safety: Double, fallbackThreshold: Double)

    /// CloudSim's fallback for MAD and LR.
    public static let defaultFallbackThreshold = 0.7
    /// The values CloudSim's hosts keep (PowerVm.HISTORY_LENGTH).
    public static let historyLength = 30
    /// MAD needs at least this many values ("12 has been suggested as a safe value").
    public static let madMinimumHistory = 12
    /// LR regresses over this many newest values.
    public static let regressionLength = 10

    /// Whether a host at `utilization` with `history` (newest first; the newest value is the current interval's)
    /// is overloaded. `migrationIntervals` is how many control intervals the longest migration off the host takes,
    /// rounded up (LR predicts that far ahead).
    public func isOverloaded(
        utilization: Double,
        history: UnsafeBufferPointer<Double>,
        migrationIntervals: Double = 1
    ) -> Bool {
        switch self {
        case .staticThreshold(let threshold):
            return utilization > threshold
        case .medianAbsoluteDeviation(let safety, let fallback):
            let count = Self.lengthWithoutZeroTail(history)
            guard count >= Self.madMinimumHistory else { return utilization > fallback }
            let threshold = 1 - safety * Self.medianAbsoluteDeviation(UnsafeBufferPointer(rebasing: history[0..<count]))
            return utilization > threshold
        case .localRegression(let safety, let fallback):
            let count = Self.lengthWithoutZeroTail(history)
            guard count >= Self.regressionLength else { return utilization > fallback }
            return Self.predictedUtilization(history, ahead: migrationIntervals) * safety >= 1
        }
    }

    /// Convenience for arrays (tests, the manager).
    public func isOverloaded(utilization: Double, history: [Double], migrationIntervals: Double = 1) -> Bool {
        history.withUnsafeBufferPointer {
            isOverloaded(utilization: utilization, history: $0, migrationIntervals: migrationIntervals)
        }
    }

    /// The threshold the detector applies now, for reports: THR's constant, MAD's adaptive one, or nil for LR
    /// (which compares a prediction with 1).
    public func threshold(history: [Double]) -> Double? {
        switch self {
        case .staticThreshold(let threshold):
            return threshold
        case .medianAbsoluteDeviation(let safety, let fallback):
            return history.withUnsafeBufferPointer { history in
                let count = Self.lengthWithoutZeroTail(history)
                guard count >= Self.madMinimumHistory else { return fallback }
                return 1 - safety * Self.medianAbsoluteDeviation(UnsafeBufferPointer(rebasing: history[0..<count]))
            }
        case .localRegression(_, let fallback):
            return Self.lengthWithoutZeroTail(history) >= Self.regressionLength ? nil : fallback
        }
    }

    /// CloudSim trims the zeros at the old end of a host's history (intervals before any of its VMs existed).
    static func lengthWithoutZeroTail(_ history: UnsafeBufferPointer<Double>) -> Int {
        var count = history.count
        while count > 0, history[count - 1] == 0 { count -= 1 }
        return count
    }

    static func lengthWithoutZeroTail(_ history: [Double]) -> Int {
        history.withUnsafeBufferPointer { lengthWithoutZeroTail($0) }
    }

    /// Median of |x − median(x)|.
    static func medianAbsoluteDeviation(_ values: UnsafeBufferPointer<Double>) -> Double {
        var sorted = Array(values)
        sorted.sort()
        let center = median(ofSorted: sorted)
        for index in sorted.indices { sorted[index] = abs(sorted[index] - center) }
        sorted.sort()
        return median(ofSorted: sorted)
    }

    /// The mean of the two middle values for an even count, as Apache Commons' 50th percentile gives.
    static func median(ofSorted values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let middle = values.count / 2
        return values.count % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2
    }

    /// Least squares line through the newest `regressionLength` values at x = 1 (oldest) … 10 (newest), evaluated
    /// at 10 + `ahead`. CloudSim computes tricube weights for this regression but applies them only when 40 % of
    /// them are zero, which never happens for 10 points, so the fit is unweighted; this matches its figures.
    static func predictedUtilization(_ history: UnsafeBufferPointer<Double>, ahead: Double) -> Double {
        let n = regressionLength
        var sumX = 0.0
        var sumY = 0.0
        var sumXY = 0.0
        var sumXX = 0.0
        for offset in 0..<n {
            let x = Double(n - offset)
            let y = history[offset]
            sumX += x
            sumY += y
            sumXY += x * y
            sumXX += x * x
        }
        let count = Double(n)
        let slope = (count * sumXY - sumX * sumY) / (count * sumXX - sumX * sumX)
        let intercept = (sumY - slope * sumX) / count
        return intercept + slope * (count + ahead)
    }
}
