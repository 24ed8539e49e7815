/// A fixed-capacity buffer of the newest samples. Storage is reserved once at init; `append` is O(1) and
/// overwrites the oldest element when full, so memory never grows with uptime.
public struct RingBuffer<Element> {
    public let capacity: Int
    private var storage: ContiguousArray<Element>
    /// Index of the oldest element once the buffer has wrapped.
    private var head = 0

    public init(capacity: Int) {
        precondition(capacity > 0, "a ring buffer needs room for at least one element")
        self.capacity = capacity
        self.storage = []
        self.storage.reserveCapacity(capacity)
    }

    public var count: Int { storage.count }
    public var isEmpty: Bool { storage.isEmpty }
    public var isFull: Bool { storage.count == capacity }

    /// Bytes reserved for elements; constant for the buffer's lifetime.
    public var reservedCapacity: Int { storage.capacity }

    public mutating func append(_ element: Element) {
        if storage.count < capacity {
            storage.append(element)
        } else {
            storage[head] = element
            head = (head + 1) % capacity
        }
    }

    /// The newest element.
    public var last: Element? {
        guard !storage.isEmpty else { return nil }
        return storage[(head + storage.count - 1) % storage.count]
    }

    /// Elements oldest first; `suffix` limits to the newest n.
    public func elements(newest limit: Int? = nil) -> [Element] {
        let n = min(limit ?? storage.count, storage.count)
        var result: [Element] = []
        result.reserveCapacity(n)
        let start = storage.count - n
        for offset in start..<storage.count {
            result.append(storage[(head + offset) % storage.count])
        }
        return result
    }

    public mutating func removeAll() {
        storage.removeAll(keepingCapacity: true)
        head = 0
    }
}

extension RingBuffer: Sendable where Element: Sendable {}
