import Foundation

/// Keeps a value alive so the optimiser cannot drop the work that produced it.
@inline(never)
func blackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}

/// Operations per second of `body`: the iteration count is grown until one run lasts `minimumSeconds`, then the
/// best of `runs` runs is taken (the least disturbed by the rest of the machine).
func operationsPerSecond(minimumSeconds: Double = 0.5, runs: Int = 3, _ body: () -> Void) -> Double {
    let clock = ContinuousClock()
    func seconds(_ iterations: Int) -> Double {
        let elapsed = clock.measure {
            for _ in 0..<iterations { body() }
        }
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    var iterations = 1
    while true {
        let elapsed = seconds(iterations)
        if elapsed >= minimumSeconds { break }
        // Aim 20% past the minimum so the timed runs do not fall just short of it.
        let scaled = Double(iterations) * minimumSeconds * 1.2 / max(elapsed, 1e-6)
        iterations = max(iterations * 2, Int(min(scaled, 1e12)))
    }
    var best = 0.0
    for _ in 0..<runs {
        best = max(best, Double(iterations) / seconds(iterations))
    }
    return best
}

/// A small deterministic generator (SplitMix64), so every run measures the same data.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
