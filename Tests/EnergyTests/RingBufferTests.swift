import Testing

@testable import Rings

@Suite struct RingBufferTests {
    @Test func keepsNewestInOrderAcrossWrapAround() {
        var ring = RingBuffer<Int>(capacity: 3)
        #expect(ring.isEmpty && ring.last == nil)
        for value in 1...7 { ring.append(value) }
        #expect(ring.elements() == [5, 6, 7])
        #expect(ring.elements(newest: 2) == [6, 7])
        #expect(ring.elements(newest: 10) == [5, 6, 7])
        #expect(ring.last == 7)
        #expect(ring.count == 3 && ring.isFull)
    }

    @Test func storageIsReservedOnceAndNeverGrows() {
        var ring = RingBuffer<Double>(capacity: 60)
        let reserved = ring.reservedCapacity
        #expect(reserved >= 60)
        for value in 0..<100_000 { ring.append(Double(value)) }
        #expect(ring.reservedCapacity == reserved)
        #expect(ring.count == 60)
        #expect(ring.elements().first == 99_940)
    }

    @Test func removeAllKeepsCapacity() {
        var ring = RingBuffer<Int>(capacity: 4)
        for value in 0..<6 { ring.append(value) }
        ring.removeAll()
        #expect(ring.isEmpty)
        ring.append(9)
        #expect(ring.elements() == [9])
    }
}
