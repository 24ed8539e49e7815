import CLibvirt
import Foundation

/// A libvirt domain handle (`virDomainPtr`) obtained from a `LibvirtConnection`.
///
/// The handle names a domain; it does not keep the guest running or defined. Its calls run on the connection's
/// executor thread. https://libvirt.org/html/libvirt-libvirt-domain.html
public final class LibvirtDomain: @unchecked Sendable {
    // @unchecked: `pointer` is immutable and only handed to libvirt inside jobs on the connection's executor
    // thread, and to virDomainFree in deinit, when nothing else can reach it.
    public let connection: LibvirtConnection
    /// The name when the handle was obtained (`virDomainGetName`); a later `virDomainRename` is not seen here.
    public let name: String
    /// `virDomainGetUUID`.
    public let uuid: UUID
    /// Owned reference: released by virDomainFree in deinit.
    let pointer: virDomainPtr

    private init(connection: LibvirtConnection, pointer: virDomainPtr, name: String, uuid: UUID) {
        self.connection = connection
        self.pointer = pointer
        self.name = name
        self.uuid = uuid
    }

    /// Takes ownership of one domain reference from libvirt; frees it if the domain cannot be read.
    /// Runs on the executor thread.
    static func adopt(_ pointer: virDomainPtr, connection: LibvirtConnection) throws(LibvirtError) -> LibvirtDomain {
        do throws(LibvirtError) {
            // virDomainGetName returns a string owned by the domain object: copy, never free.
            let name = String(
                cString: try check(virDomainGetName(pointer), "virDomainGetName", subject: connection.uri)
            )
            let uuid = try CInterop.uuid(of: pointer, subject: name)
            return LibvirtDomain(connection: connection, pointer: pointer, name: name, uuid: uuid)
        } catch {
            virDomainFree(pointer)
            throw error
        }
    }

    deinit {
        // Drops our reference only (the guest is untouched). libvirt objects are reference counted with atomic
        // operations, so this is safe on whatever thread releases the last Swift reference.
        virDomainFree(pointer)
    }

    /// The 16 UUID bytes, as libvirt stores them.
    public var uuidBytes: [UInt8] { CInterop.bytes(of: uuid) }

    /// libvirt's UUID text: lowercase 8-4-4-4-12.
    public var uuidString: String { CInterop.libvirtString(of: uuid) }

    /// The hypervisor's ID for a running domain; nil when the domain is not running (`virDomainGetID`).
    public func id() async throws(LibvirtError) -> UInt32? {
        try await hop { blocking throws(LibvirtError) in try blocking.id() }
    }

    public func info() async throws(LibvirtError) -> DomainInfo {
        try await hop { blocking throws(LibvirtError) in try blocking.info() }
    }

    public func isActive() async throws(LibvirtError) -> Bool {
        try await hop { blocking throws(LibvirtError) in try blocking.isActive() }
    }

    public func isPersistent() async throws(LibvirtError) -> Bool {
        try await hop { blocking throws(LibvirtError) in try blocking.isPersistent() }
    }

    /// The domain XML (`virDomainGetXMLDesc`).
    public func xmlDescription(flags: DomainXMLFlags = []) async throws(LibvirtError) -> String {
        try await hop { blocking throws(LibvirtError) in try blocking.xmlDescription(flags: flags) }
    }

    /// Boots a defined, inactive domain (`virDomainCreate`).
    public func start() async throws(LibvirtError) {
        try await hop { blocking throws(LibvirtError) in try blocking.start() }
    }

    /// Pauses the domain's vCPUs, keeping its memory (`virDomainSuspend`).
    public func suspend() async throws(LibvirtError) {
        try await hop { blocking throws(LibvirtError) in try blocking.suspend() }
    }

    public func resume() async throws(LibvirtError) {
        try await hop { blocking throws(LibvirtError) in try blocking.resume() }
    }

    /// Asks the guest to shut down; returns before it has (`virDomainShutdown`).
    public func shutdown() async throws(LibvirtError) {
        try await hop { blocking throws(LibvirtError) in try blocking.shutdown() }
    }

    /// Stops the domain at once, like pulling the plug (`virDomainDestroy`).
    public func destroy() async throws(LibvirtError) {
        try await hop { blocking throws(LibvirtError) in try blocking.destroy() }
    }

    public func reboot() async throws(LibvirtError) {
        try await hop { blocking throws(LibvirtError) in try blocking.reboot() }
    }

    /// Removes the persistent definition; a running domain keeps running as transient (`virDomainUndefine`).
    public func undefine() async throws(LibvirtError) {
        try await hop { blocking throws(LibvirtError) in try blocking.undefine() }
    }

    func hop<Value: Sendable>(
        _ operation: @escaping @Sendable (Blocking) throws(LibvirtError) -> Value
    ) async throws(LibvirtError) -> Value {
        let blocking = self.blocking
        return try await connection.executor.run { () throws(LibvirtError) in try operation(blocking) }
    }

    /// The synchronous layer, for tests and for code already running on the executor thread.
    var blocking: Blocking { Blocking(domain: self) }

    /// Synchronous versions of the domain's operations; see `LibvirtConnection.Blocking`.
    struct Blocking: Sendable {
        let domain: LibvirtDomain

        /// Runs `body` on the executor thread with the domain pointer, once the connection is known to be open.
        func withDomain<Value: Sendable>(
            _ function: String,
            _ body: @escaping @Sendable (virDomainPtr) throws(LibvirtError) -> Value
        ) throws(LibvirtError) -> Value {
            let domain = self.domain
            return try domain.connection.callObserver.timed(function) { () throws(LibvirtError) in
                try domain.connection.executor.runSync { () throws(LibvirtError) in
                    _ = try domain.connection.handle.requirePointer(for: function)
                    return try body(domain.pointer)
                }
            }
        }

        /// One libvirt call following the int convention (-1 and a virError on failure).
        @discardableResult
        func call(
            _ function: String,
            _ cCall: @escaping @Sendable (virDomainPtr) -> Int32
        ) throws(LibvirtError) -> Int32 {
            let name = domain.name
            return try withDomain(function) { pointer throws(LibvirtError) in
                try check(cCall(pointer), function, subject: name)
            }
        }

        func id() throws(LibvirtError) -> UInt32? {
            try withDomain("virDomainGetID") { pointer in
                // (unsigned int)-1 means "not running" (or a bad handle, which ours never is).
                let id = virDomainGetID(pointer)
                return id == UInt32.max ? nil : id
            }
        }

        func info() throws(LibvirtError) -> DomainInfo {
            let name = domain.name
            return try withDomain("virDomainGetInfo") { pointer throws(LibvirtError) in
                var info = virDomainInfo()
                try check(virDomainGetInfo(pointer, &info), "virDomainGetInfo", subject: name)
                return DomainInfo(info)
            }
        }

        func isActive() throws(LibvirtError) -> Bool {
            try call("virDomainIsActive", virDomainIsActive) == 1
        }

        func isPersistent() throws(LibvirtError) -> Bool {
            try call("virDomainIsPersistent", virDomainIsPersistent) == 1
        }

        func xmlDescription(flags: DomainXMLFlags = []) throws(LibvirtError) -> String {
            let name = domain.name
            return try withDomain("virDomainGetXMLDesc") { pointer throws(LibvirtError) in
                // Caller-owned string: takeString frees it.
                let xml = try check(virDomainGetXMLDesc(pointer, flags.rawValue), "virDomainGetXMLDesc", subject: name)
                return CInterop.takeString(xml)
            }
        }

        func start() throws(LibvirtError) {
            try call("virDomainCreate", virDomainCreate)
        }

        func suspend() throws(LibvirtError) {
            try call("virDomainSuspend", virDomainSuspend)
        }

        func resume() throws(LibvirtError) {
            try call("virDomainResume", virDomainResume)
        }

        func shutdown() throws(LibvirtError) {
            try call("virDomainShutdown", virDomainShutdown)
        }

        func destroy() throws(LibvirtError) {
            try call("virDomainDestroy", virDomainDestroy)
        }

        func reboot() throws(LibvirtError) {
            try call("virDomainReboot") { virDomainReboot($0, 0) }
        }

        func undefine() throws(LibvirtError) {
            try call("virDomainUndefine", virDomainUndefine)
        }
    }
}
