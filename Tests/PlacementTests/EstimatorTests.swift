import Placement
import Testing

struct EstimatorTests {
    static let requested = Fixtures.vector(cores: 4, gib: 8, rxGbit: 1, txGbit: 1)
    static let halfCPUQuarterMemory = ResourceFractions(cpu: 0.5, memory: 0.25, networkRx: 1, networkTx: 1)

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var estimator: Estimator
        /// CPU of each sample, oldest first; memory is twice that in GiB.
        var cpuSamples: [Double]
        var expected: ResourceVector
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "mean of the newest 15 of 20",
            estimator: Estimator(),
            cpuSamples: (1...20).map(Double.init),
            // 6 … 20.
            expected: Fixtures.vector(cores: 13, gib: 26)
        ),
        Case(
            name: "mean of all when fewer than the window",
            estimator: Estimator(),
            cpuSamples: [1, 2, 6],
            expected: Fixtures.vector(cores: 3, gib: 6)
        ),
        Case(
            name: "a window of 2 takes the newest two",
            estimator: Estimator(window: 2),
            cpuSamples: [100, 100, 1, 3],
            expected: Fixtures.vector(cores: 2, gib: 4)
        ),
        Case(
            name: "no samples falls back to the request",
            estimator: Estimator(),
            cpuSamples: [],
            expected: requested
        ),
        Case(
            name: "static estimation ignores samples",
            estimator: Estimator(isStatic: true),
            cpuSamples: [1, 1, 1],
            expected: requested
        ),
        Case(
            name: "packing density shrinks the request",
            estimator: Estimator(isStatic: true, packingDensity: halfCPUQuarterMemory),
            cpuSamples: [1],
            expected: Fixtures.vector(cores: 2, gib: 2, rxGbit: 1, txGbit: 1)
        ),
        Case(
            name: "packing density applies to the fallback without samples",
            estimator: Estimator(packingDensity: halfCPUQuarterMemory),
            cpuSamples: [],
            expected: Fixtures.vector(cores: 2, gib: 2, rxGbit: 1, txGbit: 1)
        ),
        Case(
            name: "packing density does not scale measured use",
            estimator: Estimator(packingDensity: halfCPUQuarterMemory),
            cpuSamples: [2, 4],
            expected: Fixtures.vector(cores: 3, gib: 6)
        ),
    ]

    @Test(arguments: cases)
    func estimate(_ row: Case) {
        let samples = row.cpuSamples.map { Fixtures.vector(cores: $0, gib: 2 * $0) }
        #expect(row.estimator.estimate(samples: samples, requested: Self.requested) == row.expected)
    }

    @Test func defaultsAreSnoozes() {
        let estimator = Estimator()
        #expect(estimator.window == 15)
        #expect(estimator.isStatic == false)
        #expect(estimator.packingDensity == ResourceFractions(cpu: 1, memory: 1, networkRx: 1, networkTx: 1))
    }

    @Test func acceptsAnyCollectionOfSamples() {
        let samples = [1.0, 2, 3, 4, 5].map { Fixtures.vector(cores: $0) }
        let newestThree = Estimator(window: 3).estimate(samples: samples[1...], requested: .zero)
        #expect(newestThree == Fixtures.vector(cores: 4))
    }

    @Test func requestCarriesBothVectors() {
        let request = Estimator().request(
            id: "vm-1",
            requested: Self.requested,
            samples: [Fixtures.vector(cores: 1, gib: 2)]
        )
        #expect(
            request == VMRequest(id: "vm-1", requested: Self.requested, estimated: Fixtures.vector(cores: 1, gib: 2))
        )
    }
}
