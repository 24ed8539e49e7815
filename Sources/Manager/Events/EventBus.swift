import Foundation
import Synchronization

/// The manager's event bus: where the group leader publishes Snooze's notifications, once, and where each way out
/// (the Wire stream, `GET /events`, RabbitMQ) subscribes. Every subscriber has its own bounded buffer; a slow one
/// loses its oldest events and is told how many (`EventDelivery.dropped`), and never slows the publisher.
public final class EventBus: Sendable {
    /// A subscriber's buffer when it asks for no size.
    public static let defaultCapacity = 1024

    private struct Subscriber {
        var buffer: SubscriberBuffer<ManagerEvent>
        var waiter: CheckedContinuation<EventBusSubscription.Wake, Never>?
    }

    private struct State {
        var nextSequence: UInt64 = 1
        var nextSubscriber: UInt64 = 1
        var subscribers: [UInt64: Subscriber] = [:]
    }

    private let state = Mutex(State())
    private let now: @Sendable () -> Date

    /// `now` stamps each event (injected for tests).
    public init(now: @escaping @Sendable () -> Date = { Date() }) {
        self.now = now
    }

    /// Stamps the event with the next sequence number and the time, and hands it to every subscriber. Never waits.
    @discardableResult
    public func publish(_ event: ManagerEvent) -> ManagerEvent {
        var event = event
        event.time = now()
        var woken: [CheckedContinuation<EventBusSubscription.Wake, Never>] = []
        state.withLock { state in
            event.sequence = state.nextSequence
            state.nextSequence += 1
            for id in state.subscribers.keys {
                if let waiter = state.subscribers[id]?.waiter {
                    state.subscribers[id]?.waiter = nil
                    woken.append(waiter)
                } else {
                    state.subscribers[id]?.buffer.push(event)
                }
            }
        }
        for waiter in woken { waiter.resume(returning: .delivery(.event(event))) }
        return event
    }

    /// A new subscriber, seeing events published from now on; it ends when its task is cancelled or it is closed.
    public func subscribe(capacity: Int = EventBus.defaultCapacity) -> EventBusSubscription {
        let id = state.withLock { state in
            let id = state.nextSubscriber
            state.nextSubscriber += 1
            state.subscribers[id] = Subscriber(buffer: SubscriberBuffer(capacity: max(1, capacity)))
            return id
        }
        return EventBusSubscription(bus: self, id: id)
    }

    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    func wait(_ id: UInt64) async -> EventBusSubscription.Wake {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<EventBusSubscription.Wake, Never>) in
                let ready: EventBusSubscription.Wake? = state.withLock { state in
                    guard var subscriber = state.subscribers[id] else { return .delivery(nil) }
                    switch subscriber.buffer.take() {
                    case .dropped(let count)?:
                        state.subscribers[id] = subscriber
                        return .delivery(.dropped(count))
                    case .element(let event)?:
                        state.subscribers[id] = subscriber
                        return .delivery(.event(event))
                    case nil:
                        if Task.isCancelled {
                            state.subscribers[id] = nil
                            return .delivery(nil)
                        }
                        subscriber.waiter = continuation
                        state.subscribers[id] = subscriber
                        return nil
                    }
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            close(id)
        }
    }

    /// Wakes the subscriber's waiting reader, if any, with `.idle`.
    func poke(_ id: UInt64) {
        let waiter = state.withLock { state -> CheckedContinuation<EventBusSubscription.Wake, Never>? in
            let waiter = state.subscribers[id]?.waiter
            state.subscribers[id]?.waiter = nil
            return waiter
        }
        waiter?.resume(returning: .idle)
    }

    /// Ends a subscription: its waiting reader gets nil, its buffer is freed.
    func close(_ id: UInt64) {
        let waiter = state.withLock { $0.subscribers.removeValue(forKey: id)?.waiter }
        waiter?.resume(returning: .delivery(nil))
    }
}

/// One subscriber's events in order, with drop notices. Iterate it once; it ends when closed or cancelled.
public struct EventBusSubscription: AsyncSequence, Sendable {
    public typealias Element = EventDelivery
    let bus: EventBus
    let id: UInt64

    public struct AsyncIterator: AsyncIteratorProtocol {
        let bus: EventBus
        let id: UInt64
        public mutating func next() async -> EventDelivery? { await EventBusSubscription(bus: bus, id: id).next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(bus: bus, id: id) }

    /// What a reader waiting with `nextOrIdle()` is woken with: a delivery (nil once closed), or `poke()`.
    public enum Wake: Sendable, Equatable {
        case delivery(EventDelivery?)
        case idle
    }

    /// The next delivery; nil once closed.
    public func next() async -> EventDelivery? {
        while true {
            if case .delivery(let delivery) = await bus.wait(id) { return delivery }
        }
    }

    /// The next delivery, or `.idle` when `poke()` came first (a stream's keep-alive).
    public func nextOrIdle() async -> Wake { await bus.wait(id) }

    /// Wakes a reader waiting in `nextOrIdle()` with `.idle`; nothing when none waits.
    public func poke() { bus.poke(id) }

    public func close() { bus.close(id) }
}
