/// What a subscriber reads next: an event, or how many events it lost because it read too slowly.
public enum EventDelivery: Sendable, Equatable {
    case event(ManagerEvent)
    case dropped(UInt64)
}

/// One subscriber's bounded queue (pure, no locking): when full, the oldest event goes and is counted, and the
/// count is delivered before the events that follow, so a slow subscriber never grows memory and is told.
struct SubscriberBuffer<Element> {
    let capacity: Int
    private var items: [Element] = []
    private var head = 0
    /// Events dropped since the subscriber last read.
    private(set) var dropped: UInt64 = 0

    init(capacity: Int) {
        precondition(capacity > 0, "a subscriber buffer holds at least one event")
        self.capacity = capacity
    }

    var count: Int { items.count - head }

    mutating func push(_ element: Element) {
        if count == capacity {
            head += 1
            dropped += 1
        }
        items.append(element)
        // Compacted once the read part is as large as the buffer: amortised O(1), memory at most twice capacity.
        if head >= capacity {
            items.removeFirst(head)
            head = 0
        }
    }

    /// The drop count first when there is one, then the oldest event.
    enum Next {
        case dropped(UInt64)
        case element(Element)
    }

    mutating func take() -> Next? {
        if dropped > 0 {
            defer { dropped = 0 }
            return .dropped(dropped)
        }
        guard head < items.count else { return nil }
        let element = items[head]
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        }
        return .element(element)
    }
}
