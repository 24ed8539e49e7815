import Synchronization

/// One libvirt call as seen by its caller: the C function, how long it took including the wait for the
/// connection's thread, and whether it succeeded. For latency metrics; the wrapper itself records nothing.
public struct LibvirtCallRecord: Sendable, Equatable {
    public var function: String
    public var duration: Duration
    public var succeeded: Bool
}

/// The observer a connection reports its calls to; set once, read on every call.
final class LibvirtCallObserver: Sendable {
    /// The closure inside a struct: a bare closure read through `withLock`'s generic `inout` was wrapped in two
    /// more reabstraction thunks and written back on every read, so each libvirt call grew the chain and took
    /// longer than the one before (an agent at 100 VMs reached a quarter of a core within a minute).
    private struct Observer: Sendable {
        let report: @Sendable (LibvirtCallRecord) -> Void
    }

    private let observer = Mutex<Observer?>(nil)

    func set(_ observer: @escaping @Sendable (LibvirtCallRecord) -> Void) {
        self.observer.withLock { $0 = Observer(report: observer) }
    }

    /// Runs `body`, timing it for the observer when there is one.
    func timed<Value>(_ function: String, _ body: () throws(LibvirtError) -> Value) throws(LibvirtError) -> Value {
        guard let observer = observer.withLock({ $0?.report }) else { return try body() }
        let started = ContinuousClock.now
        do throws(LibvirtError) {
            let value = try body()
            observer(LibvirtCallRecord(function: function, duration: .now - started, succeeded: true))
            return value
        } catch {
            observer(LibvirtCallRecord(function: function, duration: .now - started, succeeded: false))
            throw error
        }
    }
}
