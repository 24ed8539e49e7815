import Testing

@testable import Placement

/// The index remembers demands that found no host below a node; these check that what it remembers stays true.
struct FreeCapacityIndexTests {
    static func index(_ free: [SIMD4<Double>]) -> FreeCapacityIndex {
        FreeCapacityIndex(free: free, capacity: free.map { _ in SIMD4(repeating: 8) }, norm: .l1)
    }

    @Test func aFailedDemandFailsAgainAfterCapacityIsTaken() {
        // Cores on one host, memory on the other: the subtree's maximum holds (2, 2), neither host does.
        var index = Self.index([SIMD4(4, 0, 0, 0), SIMD4(0, 4, 0, 0), SIMD4(1, 1, 0, 0), SIMD4(8, 8, 8, 8)])
        #expect(index.firstFit(SIMD4(2, 2, 0, 0), in: 0..<3) == nil)
        #expect(index.firstFit(SIMD4(3, 3, 0, 0), in: 0..<3) == nil)
        #expect(index.firstFit(SIMD4(2, 2, 0, 0), in: 0..<4) == 3)
        index.take(SIMD4(1, 1, 0, 0), at: 2)
        #expect(index.firstFit(SIMD4(1, 0, 0, 0), in: 0..<4) == 0)
        #expect(index.firstFit(SIMD4(0, 1, 0, 0), in: 0..<4) == 1)
        #expect(index.bestFit(SIMD4(2, 2, 0, 0), in: 0..<4) == 3)
    }

    @Test func releasedCapacityIsFoundAgain() {
        var index = Self.index([SIMD4(4, 0, 0, 0), SIMD4(0, 4, 0, 0), SIMD4(0, 0, 0, 0), SIMD4(0, 0, 0, 0)])
        #expect(index.firstFit(SIMD4(2, 2, 0, 0), in: 0..<4) == nil)
        #expect(index.bestFit(SIMD4(2, 2, 0, 0), in: 0..<4) == nil)
        index.release(SIMD4(0, 3, 0, 0), at: 0)
        #expect(index.firstFit(SIMD4(2, 2, 0, 0), in: 0..<4) == 0)
        #expect(index.bestFit(SIMD4(2, 2, 0, 0), in: 0..<4) == 0)
    }

    @Test func aBestFitBoundIsForgottenWhenAHostBelowTakesCapacity() {
        // Keys (L1 of free / 8): 3.5, 3.0625 (cannot hold the demand), 3.75, 3.1125 (cannot either). The first
        // search finds 0 and learns that hosts 2–3 offer nothing below 3.75. Taking from host 2 lowers its key
        // to 3.375, so that bound no longer holds and host 2 is now the best fit.
        var index = Self.index([SIMD4(6, 6, 8, 8), SIMD4(0.5, 8, 8, 8), SIMD4(7, 7, 8, 8), SIMD4(0.9, 8, 8, 8)])
        #expect(index.bestFit(SIMD4(1, 1, 0, 0), in: 0..<4) == 0)
        index.take(SIMD4(1.5, 1.5, 0, 0), at: 2)
        #expect(index.bestFit(SIMD4(1, 1, 0, 0), in: 0..<4) == 2)
    }
}

extension FreeCapacityIndexTests {
    @Test func aSearchThatFoundNothingInARangeIsNotRepeatedForLargerDemands() {
        var index = Self.index([SIMD4(4, 0, 0, 0), SIMD4(0, 4, 0, 0), SIMD4(8, 8, 8, 8)])
        #expect(index.firstFit(SIMD4(2, 2, 0, 0), in: 0..<2) == nil)
        #expect(index.firstFit(SIMD4(3, 3, 1, 1), in: 0..<2) == nil)
        #expect(index.firstFit(SIMD4(1, 0, 0, 0), in: 0..<2) == 0)
        // Giving capacity back forgets it.
        index.release(SIMD4(0, 4, 0, 0), at: 0)
        #expect(index.firstFit(SIMD4(3, 3, 1, 1), in: 0..<2) == nil)
        #expect(index.firstFit(SIMD4(2, 2, 0, 0), in: 0..<2) == 0)
    }

    @Test func aRetiredHostIsRankedLast() {
        var index = Self.index([SIMD4(1, 1, 1, 1), SIMD4(6, 6, 8, 8)])
        #expect(index.bestFit(SIMD4(1, 1, 0, 0), in: 0..<2) == 0)
        index.retire(at: 0)
        #expect(index.bestFit(SIMD4(1, 1, 0, 0), in: 0..<2) == 1)
        #expect(index.firstFit(SIMD4(1, 1, 0, 0), in: 0..<2) == 0)
    }
}
