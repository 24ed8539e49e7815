import Placement
import Testing

struct VectorNormTests {
    struct Case: Sendable {
        var fractions: ResourceFractions
        var norm: VectorNorm
        var value: Double
    }

    static let half = ResourceFractions(cpu: 0.5, memory: 0.25, networkRx: 0, networkTx: 0)
    static let negative = ResourceFractions(cpu: -0.5, memory: 0.25, networkRx: 0, networkTx: 0)

    static let cases: [Case] = [
        Case(fractions: half, norm: .l1, value: 0.75),
        Case(fractions: half, norm: .euclid, value: 0.5590169943749475),
        Case(fractions: half, norm: .max, value: 0.5),
        Case(
            fractions: ResourceFractions(cpu: 0.3, memory: 0.4, networkRx: 0, networkTx: 1.2),
            norm: .euclid,
            value: 1.3
        ),
        Case(fractions: negative, norm: .l1, value: 0.75),
        Case(fractions: negative, norm: .max, value: 0.5),
        Case(fractions: ResourceFractions(uniform: 0), norm: .euclid, value: 0),
    ]

    @Test(arguments: cases)
    func value(_ row: Case) {
        #expect(abs(row.norm.value(of: row.fractions) - row.value) < 1e-12)
    }

    @Test("memory in bytes does not dominate once normalised", arguments: VectorNorm.allCases)
    func memoryBytesDoNotDominate(norm: VectorNorm) {
        let capacity = Fixtures.vector(cores: 8, gib: 64)
        let cpuHeavy = Fixtures.vector(cores: 7, gib: 1)
        let memoryHeavier = Fixtures.vector(cores: 1, gib: 2)
        // Snooze's raw L1 ranks the 2 GiB VM first because bytes swamp cores …
        let rawL1 = { (vector: ResourceVector) in vector.cpuCores + vector.memoryBytes }
        #expect(rawL1(memoryHeavier) > rawL1(cpuHeavy))
        // … while every norm over fractions of the host sees 7 of 8 cores as the bigger demand.
        let cpuHeavySize = norm.value(of: cpuHeavy.normalised(to: capacity))
        let memoryHeavierSize = norm.value(of: memoryHeavier.normalised(to: capacity))
        #expect(cpuHeavySize > memoryHeavierSize)
        // 7/8 + 1/64 and 1/8 + 2/64.
        let expected: [VectorNorm: (Double, Double)] = [
            .l1: (0.890625, 0.15625),
            .euclid: ((0.875 * 0.875 + 0.015625 * 0.015625).squareRoot(), (0.015625 + 0.03125 * 0.03125).squareRoot()),
            .max: (0.875, 0.125),
        ]
        #expect(cpuHeavySize == expected[norm]?.0)
        #expect(memoryHeavierSize == expected[norm]?.1)
    }
}
