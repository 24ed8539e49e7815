import Placement
import Testing

struct OverloadDetectorTests {
    @Test(
        "THR: overloaded strictly above the threshold",
        arguments: [(0.79, false), (0.8, false), (0.81, true)]
    )
    func staticThreshold(utilization: Double, overloaded: Bool) {
        #expect(OverloadDetector.staticThreshold(0.8).isOverloaded(utilization: utilization, history: []) == overloaded)
    }

    /// 12 values alternating 0.2 and 0.4: median 0.3, every deviation 0.1, so MAD = 0.1 and the threshold is
    /// 1 − 2.5 × 0.1 = 0.75. With 11 values the fallback threshold 0.7 applies.
    @Test(
        "MAD: 1 − safety × MAD with 12 values, the fallback with fewer",
        arguments: [(12, 0.74, false), (12, 0.76, true), (11, 0.72, true), (11, 0.69, false)]
    )
    func medianAbsoluteDeviation(count: Int, utilization: Double, overloaded: Bool) {
        let history = (0..<count).map { $0 % 2 == 0 ? 0.2 : 0.4 }
        let detector = OverloadDetector.medianAbsoluteDeviation(safety: 2.5, fallbackThreshold: 0.7)
        #expect(detector.isOverloaded(utilization: utilization, history: history) == overloaded)
        #expect(detector.threshold(history: history).map { ($0 * 1e9).rounded() / 1e9 } == (count == 12 ? 0.75 : 0.7))
    }

    @Test func madIgnoresTheZerosBeforeTheHostHadVMs() {
        let history = (0..<12).map { $0 % 2 == 0 ? 0.2 : 0.4 } + [0, 0, 0]
        let detector = OverloadDetector.medianAbsoluteDeviation(safety: 2.5, fallbackThreshold: 0.7)
        #expect(detector.threshold(history: history).map { ($0 * 1e9).rounded() / 1e9 } == 0.75)
    }

    /// Utilisation rising on a line through 0 by `slope` per interval (x = 1 oldest … 10 newest): LR predicts
    /// 11 × slope one interval ahead, times the safety 1.2, and calls it overloaded from 1.
    @Test(
        "LR: safety × the prediction one migration ahead reaches 1",
        arguments: [(0.05, false), (0.08, true)]
    )
    func localRegression(slope: Double, overloaded: Bool) {
        let history = (1...10).reversed().map { Double($0) * slope }
        let detector = OverloadDetector.localRegression(safety: 1.2, fallbackThreshold: 0.7)
        #expect(detector.isOverloaded(utilization: history[0], history: history, migrationIntervals: 1) == overloaded)
        // Too little history: the fallback threshold judges the current utilisation.
        #expect(detector.isOverloaded(utilization: 0.71, history: Array(history.prefix(9))))
        #expect(!detector.isOverloaded(utilization: 0.69, history: Array(history.prefix(9))))
    }

    @Test func mmtTakesTheLeastMemoryFirstOfEquals() {
        #expect(MinimumMigrationTime.select(memoryBytes: [870, 613, 1740, 613]) == 1)
        #expect(MinimumMigrationTime.select(memoryBytes: [Double]()) == nil)
        // Remove the smallest until the rest (by index) sum to at most 2000.
        let memory: [Double] = [870, 613, 1740, 613]
        let chosen = MinimumMigrationTime.selectUntilRelieved(memoryBytes: memory) { remaining in
            remaining.reduce(0) { $0 + memory[$1] } > 2000
        }
        #expect(chosen == [1, 3, 0])
        #expect(
            abs(MinimumMigrationTime.migrationSeconds(memoryBytes: 870e6, bandwidthBytesPerSecond: 62.5e6) - 13.92)
                < 1e-9
        )
    }
}
