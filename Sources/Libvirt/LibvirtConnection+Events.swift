import CLibvirt
import Foundation
import Synchronization

extension LibvirtConnection {
    /// Lifecycle events for every domain of this connection, from now until the stream is dropped or the
    /// connection closes (`virConnectDomainEventRegisterAny` with `VIR_DOMAIN_EVENT_ID_LIFECYCLE`).
    ///
    /// Events arrive on libvirt's event loop thread (see `LibvirtEventLoop`) and are buffered without limit:
    /// lifecycle events are few, and dropping one would leave a consumer with a wrong picture of a domain.
    public func domainLifecycleEvents() async throws(LibvirtError) -> AsyncStream<DomainLifecycleEvent> {
        try await hop { blocking throws(LibvirtError) in try blocking.domainLifecycleEvents() }
    }
}

extension LibvirtConnection.Blocking {
    func domainLifecycleEvents() throws(LibvirtError) -> AsyncStream<DomainLifecycleEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: DomainLifecycleEvent.self, bufferingPolicy: .unbounded)
        let handle = connection.handle
        let sink = LifecycleEventSink(continuation, deviceCache: connection.deviceCache)
        let subscription = try withConnection("virConnectDomainEventRegisterAny") { pointer throws(LibvirtError) in
            try handle.subscribe(sink, on: pointer)
        }
        // A consumer that stops listening deregisters; weak, so a stream outliving the connection holds nothing.
        continuation.onTermination = { [weak connection] _ in
            guard let connection else { return }
            connection.executor.enqueue {
                connection.handle.unsubscribe(subscription)
            }
        }
        return stream
    }
}

/// Where a listener's lifecycle events go; it outlives reopens of the connection.
final class LifecycleEventSink: Sendable {
    let continuation: AsyncStream<DomainLifecycleEvent>.Continuation
    /// Forgets the devices of a domain an event names, before anyone sees the event and samples again.
    let deviceCache: DomainDeviceCache

    init(_ continuation: AsyncStream<DomainLifecycleEvent>.Continuation, deviceCache: DomainDeviceCache) {
        self.continuation = continuation
        self.deviceCache = deviceCache
    }
}

/// The object behind libvirt's opaque callback pointer for one registration of a sink. libvirt holds one retain on
/// it from registration until it calls the free callback (after deregistration, or when the connection goes away).
final class LifecycleRegistration: Sendable {
    let sink: LifecycleEventSink
    /// Set when the connection is reopened and the sink registered again there: libvirt releasing this
    /// registration must not end the listener's stream.
    let replaced = Atomic<Bool>(false)

    init(sink: LifecycleEventSink) {
        self.sink = sink
    }
}

extension ConnectionHandle {
    /// Runs on the executor thread. Returns the subscription's number.
    func subscribe(_ sink: LifecycleEventSink, on pointer: virConnectPtr) throws(LibvirtError) -> Int {
        let registration = LifecycleRegistration(sink: sink)
        let callbackID = try register(registration, on: pointer)
        nextSubscription += 1
        lifecycleSubscriptions[nextSubscription] = (registration, callbackID)
        return nextSubscription
    }

    /// Runs on the executor thread. Returns libvirt's callback ID.
    func register(_ registration: LifecycleRegistration, on pointer: virConnectPtr) throws(LibvirtError) -> Int32 {
        // C function pointers cannot capture: the registration travels as the opaque pointer, retained for libvirt.
        let onLifecycle: virConnectDomainEventCallback = { _, domain, event, detail, opaque in
            guard let domain, let opaque else { return 0 }
            let sink = Unmanaged<LifecycleRegistration>.fromOpaque(opaque).takeUnretainedValue().sink
            // Both accessors read the domain object libvirt passes in: nothing to free, nothing blocks.
            guard let name = virDomainGetName(domain), let uuid = try? CInterop.uuid(of: domain, subject: nil) else {
                virResetLastError()
                return 0
            }
            let kind = DomainLifecycleEvent.Kind(libvirtValue: event)
            sink.deviceCache.forget(uuid)
            sink.continuation.yield(
                DomainLifecycleEvent(uuid: uuid, name: String(cString: name), kind: kind, detail: detail)
            )
            return 0
        }
        let release: virFreeCallback = { opaque in
            guard let opaque else { return }
            let registration = Unmanaged<LifecycleRegistration>.fromOpaque(opaque).takeRetainedValue()
            if !registration.replaced.load(ordering: .relaxed) { registration.sink.continuation.finish() }
        }
        let opaque = Unmanaged.passRetained(registration).toOpaque()
        let callbackID = virConnectDomainEventRegisterAny(
            pointer,
            nil,  // every domain
            Int32(bitPattern: VIR_DOMAIN_EVENT_ID_LIFECYCLE.rawValue),
            // libvirt's documented pattern (VIR_DOMAIN_EVENT_CALLBACK): pass the specific callback as the generic
            // type; libvirt calls it back with the lifecycle signature.
            unsafeBitCast(onLifecycle, to: virConnectDomainEventGenericCallback.self),
            opaque,
            release
        )
        guard callbackID >= 0 else {
            let error = LibvirtError.copyLast(function: "virConnectDomainEventRegisterAny", subject: uri)
            // On failure libvirt never calls the free callback, so the retain is ours to drop.
            Unmanaged<LifecycleRegistration>.fromOpaque(opaque).release()
            throw error
        }
        return callbackID
    }

    /// Runs on the executor thread. Safe to repeat: unknown subscriptions are ignored.
    func unsubscribe(_ subscription: Int) {
        guard let entry = lifecycleSubscriptions.removeValue(forKey: subscription) else { return }
        if let pointer, virConnectDomainEventDeregisterAny(pointer, entry.callbackID) < 0 {
            virResetLastError()
        }
        entry.registration.sink.continuation.finish()
    }

    /// Runs on the executor thread (or in deinit) just before the connection closes.
    func deregisterAllLifecycleCallbacks(on pointer: virConnectPtr) {
        let subscriptions = lifecycleSubscriptions
        lifecycleSubscriptions = [:]
        for entry in subscriptions.values {
            if virConnectDomainEventDeregisterAny(pointer, entry.callbackID) < 0 {
                virResetLastError()
            }
            // Finishing triggers onTermination, which finds nothing left to deregister.
            entry.registration.sink.continuation.finish()
        }
    }
}
