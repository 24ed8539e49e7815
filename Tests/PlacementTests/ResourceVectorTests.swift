import Placement
import Testing

struct ResourceVectorTests {
    /// Cores, bytes, rx and tx bytes per second.
    static func raw(_ cores: Double, _ bytes: Double, _ rx: Double, _ tx: Double) -> ResourceVector {
        ResourceVector(cpuCores: cores, memoryBytes: bytes, networkRxBytesPerSecond: rx, networkTxBytesPerSecond: tx)
    }

    static let a = Self.raw(2, 1024, 10, 20)
    static let b = Self.raw(1, 512, 5, 40)

    @Test func arithmetic() {
        #expect(Self.a + Self.b == Self.raw(3, 1536, 15, 60))
        #expect(Self.a - Self.b == Self.raw(1, 512, 5, -20))
        #expect(Self.a * 2 == Self.raw(4, 2048, 20, 40))
        #expect(Self.a / 2 == Self.raw(1, 512, 5, 10))
        #expect(Self.a.scaled(by: 0.5) == Self.a / 2)
        var sum = Self.a
        sum += Self.b
        sum -= Self.a
        #expect(sum == Self.b)
        #expect(ResourceVector.zero == Self.raw(0, 0, 0, 0))
    }

    @Test func componentwiseMaximum() {
        #expect(
            ResourceVector.maximum(Self.a, Self.b)
                == Self.raw(2, 1024, 10, 40)
        )
    }

    @Test(
        arguments: [
            (value: Fixtures.vector(cores: 1, gib: 1), bound: Fixtures.vector(cores: 1, gib: 1), expected: true),
            (value: Fixtures.vector(cores: 1, gib: 1), bound: Fixtures.vector(cores: 2, gib: 2), expected: true),
            (value: Fixtures.vector(cores: 3, gib: 1), bound: Fixtures.vector(cores: 2, gib: 2), expected: false),
            (value: Fixtures.vector(cores: 1, gib: 3), bound: Fixtures.vector(cores: 2, gib: 2), expected: false),
            (value: Fixtures.vector(rxGbit: 1), bound: Fixtures.vector(cores: 2, gib: 2), expected: false),
            (value: Fixtures.vector(txGbit: 1), bound: Fixtures.vector(txGbit: 0.5), expected: false),
        ]
    )
    func componentwiseLessThanOrEqual(value: ResourceVector, bound: ResourceVector, expected: Bool) {
        #expect(value.isComponentwiseLessThanOrEqual(to: bound) == expected)
    }

    @Test func scaledByFractions() {
        let scaled = Self.a.scaled(by: ResourceFractions(cpu: 0.5, memory: 0.25, networkRx: 1, networkTx: 0))
        #expect(scaled == Self.raw(1, 256, 10, 0))
    }

    @Test func normalisedToCapacity() {
        let capacity = Fixtures.vector(cores: 8, gib: 64, rxGbit: 10, txGbit: 10)
        let use = Fixtures.vector(cores: 2, gib: 16, rxGbit: 5, txGbit: 1)
        #expect(
            use.normalised(to: capacity) == ResourceFractions(cpu: 0.25, memory: 0.25, networkRx: 0.5, networkTx: 0.1)
        )
    }

    @Test func zeroCapacityMakesAnyDemandInfinite() {
        let capacity = Fixtures.vector(cores: 4, gib: 8)
        let fractions = Fixtures.vector(cores: 1, rxGbit: 1).normalised(to: capacity)
        #expect(fractions == ResourceFractions(cpu: 0.25, memory: 0, networkRx: .infinity, networkTx: 0))
    }

    @Test func subscriptsByDimension() {
        var vector = Self.a
        #expect(ResourceDimension.allCases.map { vector[$0] } == [2, 1024, 10, 20])
        vector[.memory] = 1
        vector[.networkTx] = 2
        #expect(vector == Self.raw(2, 1, 10, 2))
        var fractions = ResourceFractions(uniform: 0.5)
        fractions[.cpu] = 1
        #expect(ResourceDimension.allCases.map { fractions[$0] } == [1, 0.5, 0.5, 0.5])
        #expect(ResourceFractions.one == ResourceFractions(uniform: 1))
    }
}
