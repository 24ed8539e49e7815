import Foundation
import Testing

@testable import Manager

/// The manager's event bus: every subscriber sees each event once, in order, numbered; a slow one loses the oldest
/// and is told; a cancelled or closed one ends and is forgotten.
struct EventBusTests {
    static func event(_ type: String) -> ManagerEvent {
        ManagerEvent(exchange: .system, routingKey: "groupleader", eventType: type, message: Data("{}".utf8))
    }

    static func types(_ deliveries: [EventDelivery?]) -> [String] {
        deliveries.map { delivery in
            switch delivery {
            case .event(let event)?: "\(event.sequence):\(event.eventType)"
            case .dropped(let count)?: "dropped \(count)"
            case nil: "end"
            }
        }
    }

    @Test func everySubscriberSeesEachLaterEventOnceInOrderNumbered() async {
        let bus = EventBus(now: { Date(timeIntervalSince1970: 5) })
        bus.publish(Self.event("BEFORE"))
        let first = bus.subscribe()
        let second = bus.subscribe()
        bus.publish(Self.event("A"))
        bus.publish(Self.event("B"))
        first.close()
        #expect(Self.types([await first.next()]) == ["end"])
        #expect(Self.types([await second.next(), await second.next()]) == ["2:A", "3:B"])
        #expect(bus.subscriberCount == 1)
        guard case .event(let stamped)? = await { bus.publish(Self.event("C")); return await second.next() }() else {
            Issue.record("no event")
            return
        }
        #expect(stamped.time == Date(timeIntervalSince1970: 5))
    }

    @Test func aSlowSubscriberLosesTheOldestAndIsToldWhileOthersMissNothing() async {
        let bus = EventBus()
        let slow = bus.subscribe(capacity: 3)
        let roomy = bus.subscribe(capacity: 100)
        for index in 1...10 { bus.publish(Self.event("E\(index)")) }
        var slowSeen: [EventDelivery?] = []
        for _ in 0..<4 { slowSeen.append(await slow.next()) }
        #expect(Self.types(slowSeen) == ["dropped 7", "8:E8", "9:E9", "10:E10"])
        var roomySeen: [EventDelivery?] = []
        for _ in 0..<10 { roomySeen.append(await roomy.next()) }
        #expect(Self.types(roomySeen) == (1...10).map { "\($0):E\($0)" })
    }

    @Test func aWaitingReaderIsWokenByTheNextEventAndACancelledOneEnds() async {
        let bus = EventBus()
        let subscription = bus.subscribe()
        let reader = Task { await subscription.next() }
        // The reader may or may not be waiting yet: either way it gets the event.
        try? await Task.sleep(for: .milliseconds(50))
        bus.publish(Self.event("WAKE"))
        #expect(Self.types([await reader.value]) == ["1:WAKE"])

        let cancelled = bus.subscribe()
        let waiting = Task { await cancelled.next() }
        waiting.cancel()
        #expect(Self.types([await waiting.value]) == ["end"])
        let deadline = ContinuousClock.now + .seconds(60)
        while bus.subscriberCount != 1, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        #expect(bus.subscriberCount == 1, "the cancelled subscriber is forgotten")
    }

    @Test func aPokeWakesAWaitingReaderWithIdleAndLosesNothing() async {
        let bus = EventBus()
        let subscription = bus.subscribe()
        let reader = Task { await subscription.nextOrIdle() }
        // A poke with nobody waiting does nothing: poke until the reader has been found waiting.
        let poker = Task {
            while !Task.isCancelled {
                subscription.poke()
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        #expect(await reader.value == .idle)
        poker.cancel()
        let published = bus.publish(Self.event("AFTER"))
        #expect(await subscription.nextOrIdle() == .delivery(.event(published)))
    }
}
