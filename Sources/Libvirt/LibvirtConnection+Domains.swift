import CLibvirt
import Foundation

extension LibvirtConnection {
    /// Every domain, active and inactive (`virConnectListAllDomains`).
    public func allDomains() async throws(LibvirtError) -> [LibvirtDomain] {
        try await hop { blocking throws(LibvirtError) in try blocking.allDomains() }
    }

    /// Throws `LibvirtError.Code.noDomain` when no domain has that name.
    public func domain(named name: String) async throws(LibvirtError) -> LibvirtDomain {
        try await hop { blocking throws(LibvirtError) in try blocking.domain(named: name) }
    }

    public func domain(uuid: UUID) async throws(LibvirtError) -> LibvirtDomain {
        try await hop { blocking throws(LibvirtError) in try blocking.domain(uuidBytes: CInterop.bytes(of: uuid)) }
    }

    /// `uuidBytes` must hold exactly 16 bytes, else `invalidArgument`.
    public func domain(uuidBytes: [UInt8]) async throws(LibvirtError) -> LibvirtDomain {
        try await hop { blocking throws(LibvirtError) in try blocking.domain(uuidBytes: uuidBytes) }
    }

    /// Accepts libvirt's UUID text, with or without dashes, in either case.
    public func domain(uuidString: String) async throws(LibvirtError) -> LibvirtDomain {
        try await hop { blocking throws(LibvirtError) in try blocking.domain(uuidString: uuidString) }
    }

    /// Defines (or redefines) a persistent, inactive domain from XML (`virDomainDefineXML`).
    public func defineDomain(xml: String) async throws(LibvirtError) -> LibvirtDomain {
        try await hop { blocking throws(LibvirtError) in try blocking.defineDomain(xml: xml) }
    }

    /// Creates and starts a transient domain from XML; it vanishes when it stops (`virDomainCreateXML`).
    public func createDomain(xml: String) async throws(LibvirtError) -> LibvirtDomain {
        try await hop { blocking throws(LibvirtError) in try blocking.createDomain(xml: xml) }
    }
}

extension LibvirtConnection.Blocking {
    func allDomains() throws(LibvirtError) -> [LibvirtDomain] {
        let connection = self.connection
        return try withConnection("virConnectListAllDomains") { pointer throws(LibvirtError) in
            // libvirt allocates the array (freed with free()) and one reference per domain (each adopted below).
            var list: UnsafeMutablePointer<virDomainPtr?>?
            let flags: UInt32 = 0  // 0 = active and inactive
            let count = try check(
                virConnectListAllDomains(pointer, &list, flags),
                "virConnectListAllDomains",
                subject: connection.uri
            )
            defer { free(list) }
            guard let list else { return [] }
            var domains: [LibvirtDomain] = []
            domains.reserveCapacity(Int(count))
            for index in 0..<Int(count) {
                guard let domainPointer = list[index] else { continue }
                do throws(LibvirtError) {
                    domains.append(try LibvirtDomain.adopt(domainPointer, connection: connection))
                } catch {
                    // Release the references not adopted yet; adopt already freed this one.
                    for rest in (index + 1)..<Int(count) {
                        if let leftover = list[rest] { virDomainFree(leftover) }
                    }
                    throw error
                }
            }
            return domains
        }
    }

    func domain(named name: String) throws(LibvirtError) -> LibvirtDomain {
        try lookup("virDomainLookupByName", subject: name) { virDomainLookupByName($0, name) }
    }

    func domain(uuidBytes: [UInt8]) throws(LibvirtError) -> LibvirtDomain {
        let function = "virDomainLookupByUUID"
        let subject =
            uuidBytes.count == CInterop.uuidByteCount
            ? CInterop.libvirtString(of: CInterop.uuid(fromBytes: uuidBytes))
            : "\(uuidBytes.count) bytes"
        guard uuidBytes.count == CInterop.uuidByteCount else {
            throw .wrapper(.invalidArgument, "a UUID has 16 bytes", function: function, subject: subject)
        }
        return try lookup(function, subject: subject) { virDomainLookupByUUID($0, uuidBytes) }
    }

    func domain(uuidString: String) throws(LibvirtError) -> LibvirtDomain {
        try lookup("virDomainLookupByUUIDString", subject: uuidString) { virDomainLookupByUUIDString($0, uuidString) }
    }

    func defineDomain(xml: String) throws(LibvirtError) -> LibvirtDomain {
        try lookup("virDomainDefineXML", subject: connection.uri) { virDomainDefineXML($0, xml) }
    }

    func createDomain(xml: String) throws(LibvirtError) -> LibvirtDomain {
        try lookup("virDomainCreateXML", subject: connection.uri) { virDomainCreateXML($0, xml, 0) }
    }

    /// One libvirt call that returns a new domain reference (NULL and a virError on failure).
    private func lookup(
        _ function: String,
        subject: String,
        _ cCall: @escaping @Sendable (virConnectPtr) -> virDomainPtr?
    ) throws(LibvirtError) -> LibvirtDomain {
        let connection = self.connection
        return try withConnection(function) { pointer throws(LibvirtError) in
            try LibvirtDomain.adopt(try check(cCall(pointer), function, subject: subject), connection: connection)
        }
    }
}
