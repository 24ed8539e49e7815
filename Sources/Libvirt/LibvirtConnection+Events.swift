import CLibvirt
import Foundation

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
        let callbackID = try withConnection("virConnectDomainEventRegisterAny") { pointer throws(LibvirtError) in
            try handle.registerLifecycleCallback(
                on: pointer,
                sink: LifecycleEventSink(continuation, deviceCache: connection.deviceCache)
            )
        }
        // A consumer that stops listening deregisters; weak, so a stream outliving the connection holds nothing.
        continuation.onTermination = { [weak connection] _ in
            guard let connection else { return }
            connection.executor.enqueue {
                connection.handle.deregisterLifecycleCallback(callbackID)
            }
        }
        return stream
    }
}

/// The object behind libvirt's opaque callback pointer. libvirt holds one retain on it from registration until it
/// calls the free callback (after deregistration, or when the connection goes away).
final class LifecycleEventSink: Sendable {
    let continuation: AsyncStream<DomainLifecycleEvent>.Continuation
    /// Forgets the devices of a domain an event names, before anyone sees the event and samples again.
    let deviceCache: DomainDeviceCache

    init(_ continuation: AsyncStream<DomainLifecycleEvent>.Continuation, deviceCache: DomainDeviceCache) {
        self.continuation = continuation
        self.deviceCache = deviceCache
    }
}

extension ConnectionHandle {
    /// Runs on the executor thread. Returns libvirt's callback ID.
    func registerLifecycleCallback(on pointer: virConnectPtr, sink: LifecycleEventSink) throws(LibvirtError) -> Int32 {
        // C function pointers cannot capture: the sink travels as the opaque pointer, retained for libvirt.
        let onLifecycle: virConnectDomainEventCallback = { _, domain, event, detail, opaque in
            guard let domain, let opaque else { return 0 }
            let sink = Unmanaged<LifecycleEventSink>.fromOpaque(opaque).takeUnretainedValue()
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
        let releaseSink: virFreeCallback = { opaque in
            guard let opaque else { return }
            Unmanaged<LifecycleEventSink>.fromOpaque(opaque).takeRetainedValue().continuation.finish()
        }
        let opaque = Unmanaged.passRetained(sink).toOpaque()
        let callbackID = virConnectDomainEventRegisterAny(
            pointer,
            nil,  // every domain
            Int32(bitPattern: VIR_DOMAIN_EVENT_ID_LIFECYCLE.rawValue),
            // libvirt's documented pattern (VIR_DOMAIN_EVENT_CALLBACK): pass the specific callback as the generic
            // type; libvirt calls it back with the lifecycle signature.
            unsafeBitCast(onLifecycle, to: virConnectDomainEventGenericCallback.self),
            opaque,
            releaseSink
        )
        guard callbackID >= 0 else {
            let error = LibvirtError.copyLast(function: "virConnectDomainEventRegisterAny", subject: uri)
            // On failure libvirt never calls the free callback, so the retain is ours to drop.
            Unmanaged<LifecycleEventSink>.fromOpaque(opaque).release()
            throw error
        }
        lifecycleSinks[callbackID] = sink
        return callbackID
    }

    /// Runs on the executor thread. Safe to repeat: unknown IDs are ignored.
    func deregisterLifecycleCallback(_ callbackID: Int32) {
        guard let sink = lifecycleSinks.removeValue(forKey: callbackID), let pointer else { return }
        if virConnectDomainEventDeregisterAny(pointer, callbackID) < 0 {
            virResetLastError()
        }
        sink.continuation.finish()
    }

    /// Runs on the executor thread (or in deinit) just before the connection closes.
    func deregisterAllLifecycleCallbacks(on pointer: virConnectPtr) {
        let sinks = lifecycleSinks
        lifecycleSinks = [:]
        for (callbackID, sink) in sinks {
            if virConnectDomainEventDeregisterAny(pointer, callbackID) < 0 {
                virResetLastError()
            }
            // Finishing triggers onTermination, which finds nothing left to deregister.
            sink.continuation.finish()
        }
    }
}
