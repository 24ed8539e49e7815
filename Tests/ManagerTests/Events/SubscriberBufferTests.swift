import Testing

@testable import Manager

/// A subscriber's bounded buffer: pushes and takes in, what is taken out; drops counted and told first.
struct SubscriberBufferTests {
    /// What a take should give: `SubscriberBuffer.Next` as a Sendable value the table can hold.
    enum Taken: Sendable, Equatable {
        case dropped(UInt64)
        case element(Int)

        init?(_ next: SubscriberBuffer<Int>.Next?) {
            switch next {
            case .dropped(let count)?: self = .dropped(count)
            case .element(let value)?: self = .element(value)
            case nil: return nil
            }
        }
    }

    enum Step: CustomStringConvertible, Sendable {
        case push(Int)
        case take(expected: Taken?)

        var description: String {
            switch self {
            case .push(let value): "push \(value)"
            case .take(let expected): "take → \(String(describing: expected))"
            }
        }
    }

    static let cases: [(String, capacity: Int, [Step])] = [
        ("empty takes nothing", 2, [.take(expected: nil)]),
        ("in order", 3, [.push(1), .push(2), .take(expected: .element(1)), .take(expected: .element(2)), .take(expected: nil)]),
        (
            "full drops the oldest and says so before the rest", 2,
            [.push(1), .push(2), .push(3), .push(4), .take(expected: .dropped(2)), .take(expected: .element(3)),
             .take(expected: .element(4)), .take(expected: nil)]
        ),
        (
            "the drop count restarts after it was told", 1,
            [.push(1), .push(2), .take(expected: .dropped(1)), .take(expected: .element(2)), .push(3), .push(4),
             .push(5), .take(expected: .dropped(2)), .take(expected: .element(5))]
        ),
        (
            "interleaved pushes and takes never drop below capacity", 2,
            [.push(1), .take(expected: .element(1)), .push(2), .push(3), .take(expected: .element(2)), .push(4),
             .take(expected: .element(3)), .take(expected: .element(4)), .take(expected: nil)]
        ),
    ]

    @Test(arguments: cases)
    func steps(_ name: String, capacity: Int, _ steps: [Step]) {
        var buffer = SubscriberBuffer<Int>(capacity: capacity)
        for (index, step) in steps.enumerated() {
            switch step {
            case .push(let value):
                buffer.push(value)
                #expect(buffer.count <= capacity, "\(name): step \(index)")
            case .take(let expected):
                #expect(Taken(buffer.take()) == expected, "\(name): step \(index) \(step)")
            }
        }
    }

    @Test func aMillionPushesKeepAtMostCapacityAndCountEveryDrop() {
        var buffer = SubscriberBuffer<Int>(capacity: 100)
        for value in 0..<1_000_000 { buffer.push(value) }
        #expect(buffer.count == 100)
        #expect(buffer.dropped == 999_900)
        guard case .dropped(999_900)? = buffer.take() else {
            Issue.record("expected the drop count first")
            return
        }
        guard case .element(999_900)? = buffer.take() else {
            Issue.record("expected the oldest kept element")
            return
        }
    }
}
