import CLibvirt
import Foundation
import Synchronization

/// An open libvirt connection (`virConnectPtr`) to any URI: `test:///default`, `test:///ABS/PATH/node.xml`,
/// `qemu:///system?socket=...`, `qemu+tcp://HOST/system`.
///
/// Every libvirt call of the connection, and of the domains obtained from it, runs on the connection's own
/// thread (`LibvirtExecutor`); the public API is `async` and hops there.
/// https://libvirt.org/html/libvirt-libvirt-host.html
public final class LibvirtConnection: Sendable {
    /// The URI the connection was opened with.
    public let uri: String
    let executor: LibvirtExecutor
    let handle: ConnectionHandle
    let callObserver = LibvirtCallObserver()
    /// Each running domain's NICs and disks for the stats fallback (`collectStats`).
    let deviceCache = DomainDeviceCache()

    private init(uri: String, executor: LibvirtExecutor, handle: ConnectionHandle) {
        self.uri = uri
        self.executor = executor
        self.handle = handle
    }

    /// Opens `uri` read-write. A bad or unreachable URI throws a `LibvirtError` whose `subject` is the URI.
    public static func open(_ uri: String) async throws(LibvirtError) -> LibvirtConnection {
        // Event loop and error handler first: drivers need the loop when they start.
        try LibvirtEventLoop.ensureInitialized()
        let executor = LibvirtExecutor(name: "libvirt-conn")
        do throws(LibvirtError) {
            let handle = try await executor.run { () throws(LibvirtError) in try ConnectionHandle.open(uri: uri) }
            return LibvirtConnection(uri: uri, executor: executor, handle: handle)
        } catch {
            executor.shutdown()
            throw error
        }
    }

    /// `open` for synchronous callers (tests); blocks the calling thread.
    static func openBlocking(_ uri: String) throws(LibvirtError) -> LibvirtConnection {
        try LibvirtEventLoop.ensureInitialized()
        let executor = LibvirtExecutor(name: "libvirt-conn")
        do throws(LibvirtError) {
            let handle = try executor.runSync { () throws(LibvirtError) in try ConnectionHandle.open(uri: uri) }
            return LibvirtConnection(uri: uri, executor: executor, handle: handle)
        } catch {
            executor.shutdown()
            throw error
        }
    }

    deinit {
        // Never block here: this may run on any thread, even the executor's own. The close job runs after
        // every job already queued, then the thread exits.
        let handle = self.handle
        executor.enqueue {
            handle.close()
        }
        executor.shutdown()
    }

    /// Deregisters event callbacks (finishing their streams) and closes the connection. Later calls on it, or on
    /// its domains, throw `invalidConnection`. Closing twice is harmless.
    public func close() async {
        let handle = self.handle
        _ = try? await executor.run {
            handle.close()
        }
    }

    /// CPU, memory and hostname of the node the connection talks to.
    public func nodeInfo() async throws(LibvirtError) -> NodeInfo {
        try await hop { blocking throws(LibvirtError) in try blocking.nodeInfo() }
    }

    /// The node's hostname (`virConnectGetHostname`).
    public func hostname() async throws(LibvirtError) -> String {
        try await hop { blocking throws(LibvirtError) in try blocking.hostname() }
    }

    /// How many times the connection was lost (libvirtd restarted or stopped) and opened again: a call that finds
    /// it closed reopens it first (`virConnectIsAlive`), so a restarted libvirtd is used again from the next call
    /// on, with the lifecycle event streams carried over. Domain handles from before a reopen fail; look them up
    /// again.
    public var reconnections: Int { handle.reconnections.load(ordering: .relaxed) }

    /// Reports every later call of this connection and its domains to `observer` (for latency metrics). It runs
    /// on the caller's thread, often the connection's own: keep it short and never call libvirt from it.
    public func observeCalls(_ observer: @escaping @Sendable (LibvirtCallRecord) -> Void) {
        callObserver.set(observer)
    }

    /// Runs one blocking-layer operation on the executor thread for an async caller.
    func hop<Value: Sendable>(
        _ operation: @escaping @Sendable (Blocking) throws(LibvirtError) -> Value
    ) async throws(LibvirtError) -> Value {
        let blocking = self.blocking
        return try await executor.run { () throws(LibvirtError) in try operation(blocking) }
    }

    /// The synchronous layer, for tests and for code already running on the executor thread.
    var blocking: Blocking { Blocking(connection: self) }

    /// Synchronous versions of the connection's operations. Each blocks the caller until the executor thread has
    /// run it; called from a job on that thread it runs inline.
    struct Blocking: Sendable {
        let connection: LibvirtConnection

        /// Runs `body` on the executor thread with the open `virConnectPtr`.
        func withConnection<Value: Sendable>(
            _ function: String,
            _ body: @escaping @Sendable (virConnectPtr) throws(LibvirtError) -> Value
        ) throws(LibvirtError) -> Value {
            let handle = connection.handle
            return try connection.callObserver.timed(function) { () throws(LibvirtError) in
                try connection.executor.runSync { () throws(LibvirtError) in
                    try body(try handle.livePointer(for: function, deviceCache: connection.deviceCache))
                }
            }
        }

        func nodeInfo() throws(LibvirtError) -> NodeInfo {
            let uri = connection.uri
            return try withConnection("virNodeGetInfo") { pointer throws(LibvirtError) in
                var info = virNodeInfo()
                try check(virNodeGetInfo(pointer, &info), "virNodeGetInfo", subject: uri)
                return NodeInfo(info, hostname: try Self.hostname(of: pointer, uri: uri))
            }
        }

        func hostname() throws(LibvirtError) -> String {
            let uri = connection.uri
            return try withConnection("virConnectGetHostname") { pointer throws(LibvirtError) in
                try Self.hostname(of: pointer, uri: uri)
            }
        }

        private static func hostname(of pointer: virConnectPtr, uri: String) throws(LibvirtError) -> String {
            // Caller-owned string: takeString frees it.
            CInterop.takeString(try check(virConnectGetHostname(pointer), "virConnectGetHostname", subject: uri))
        }
    }
}

/// Owns the `virConnectPtr` and the event callbacks registered on it.
final class ConnectionHandle: @unchecked Sendable {
    // @unchecked: `pointer` and `lifecycleSubscriptions` are only touched on the connection's executor thread,
    // which runs one job at a time (and in deinit, when nothing else can reach the handle).
    /// nil once closed.
    private(set) var pointer: virConnectPtr?
    /// Lifecycle listeners by subscription number, each with its registration on the current pointer (libvirt's
    /// callback ID); a reopen registers them again on the new pointer (see Events).
    var lifecycleSubscriptions: [Int: (registration: LifecycleRegistration, callbackID: Int32)] = [:]
    var nextSubscription = 0
    /// Times the connection was found closed and opened again.
    let reconnections = Atomic<Int>(0)
    let uri: String

    private init(uri: String, pointer: virConnectPtr) {
        self.uri = uri
        self.pointer = pointer
    }

    /// `virConnectOpen` returns a new reference owned by this handle and dropped by `virConnectClose`.
    static func open(uri: String) throws(LibvirtError) -> ConnectionHandle {
        ConnectionHandle(uri: uri, pointer: try check(virConnectOpen(uri), "virConnectOpen", subject: uri))
    }

    /// The open pointer, or `invalidConnection` after `close()`.
    func requirePointer(for function: String) throws(LibvirtError) -> virConnectPtr {
        guard let pointer else {
            throw .wrapper(.invalidConnection, "the connection is closed", function: function, subject: uri)
        }
        return pointer
    }

    /// The open pointer for a call, opened again first if libvirt says the connection is no longer alive (the
    /// daemon restarted or stopped: a remote connection never comes back by itself). Lifecycle listeners move to
    /// the new connection; a reopen that fails throws `noConnect`, naming the call and why (the call did not
    /// run), and the next call tries again.
    func livePointer(for function: String, deviceCache: DomainDeviceCache) throws(LibvirtError) -> virConnectPtr {
        let current = try requirePointer(for: function)
        // 1: alive; -1: cannot tell, and the call itself will say what is wrong.
        let alive = virConnectIsAlive(current)
        if alive != 0 {
            if alive < 0 { virResetLastError() }
            return current
        }
        guard let fresh = virConnectOpen(uri) else {
            let cause = LibvirtError.copyLast(function: "virConnectOpen", subject: uri)
            // VIR_ERR_NO_CONNECT whatever libvirt's own code: callers can tell that the call never ran.
            throw LibvirtError(
                code: LibvirtError.Code.noConnect.rawValue,
                domain: cause.domain,
                message: "the connection to libvirt was lost (libvirtd stopped or restarted) and reopening it "
                    + "failed: \(cause.message)",
                function: function,
                subject: uri
            )
        }
        for entry in lifecycleSubscriptions.values {
            entry.registration.replaced.store(true, ordering: .relaxed)
            if virConnectDomainEventDeregisterAny(current, entry.callbackID) < 0 {
                virResetLastError()
            }
        }
        if virConnectClose(current) < 0 {
            virResetLastError()
        }
        pointer = fresh
        // Events were missed meanwhile: every domain's devices are read again.
        deviceCache.keepOnly([])
        for (subscription, entry) in lifecycleSubscriptions {
            let registration = LifecycleRegistration(sink: entry.registration.sink)
            do {
                let callbackID = try register(registration, on: fresh)
                lifecycleSubscriptions[subscription] = (registration, callbackID)
            } catch {
                // Its listener sees the stream end and may ask again.
                lifecycleSubscriptions[subscription] = nil
                entry.registration.sink.continuation.finish()
            }
        }
        reconnections.add(1, ordering: .relaxed)
        return fresh
    }

    func close() {
        guard let pointer else { return }
        deregisterAllLifecycleCallbacks(on: pointer)
        // Returns how many references remain (libvirt domain objects hold some); fails only for a bad pointer.
        if virConnectClose(pointer) < 0 {
            virResetLastError()
        }
        self.pointer = nil
    }

    deinit {
        close()
    }
}
