import CLibvirt
import Foundation

/// Small conversions between libvirt's C shapes and Swift values, used by every file that calls libvirt.
enum CInterop {
    /// Number of bytes in a libvirt UUID (`VIR_UUID_BUFLEN`).
    static let uuidByteCount = 16

    /// Copies a caller-owned C string that libvirt documents as "free with free()", then frees it at once.
    static func takeString(_ pointer: UnsafeMutablePointer<CChar>) -> String {
        defer { free(pointer) }
        return String(cString: pointer)
    }

    /// A fixed-size C `char name[N]` array, imported as a tuple, up to its first NUL.
    static func string<Tuple>(fromCharArray tuple: Tuple) -> String {
        withUnsafeBytes(of: tuple) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// Reads a domain's UUID (`virDomainGetUUID` fills 16 caller-provided bytes; nothing to free).
    static func uuid(of domain: virDomainPtr, subject: String?) throws(LibvirtError) -> UUID {
        var bytes = [UInt8](repeating: 0, count: uuidByteCount)
        try check(virDomainGetUUID(domain, &bytes), "virDomainGetUUID", subject: subject)
        return uuid(fromBytes: bytes)
    }

    /// A Foundation UUID from exactly 16 bytes (the caller checks the count).
    static func uuid(fromBytes bytes: [UInt8]) -> UUID {
        bytes.withUnsafeBytes { UUID(uuid: $0.loadUnaligned(as: uuid_t.self)) }
    }

    /// The 16 raw bytes of a UUID, as libvirt's lookup functions take them.
    static func bytes(of uuid: UUID) -> [UInt8] {
        withUnsafeBytes(of: uuid.uuid) { Array($0) }
    }

    /// libvirt's textual UUID form: lowercase 8-4-4-4-12 hex (what `virDomainGetUUIDString` prints).
    static func libvirtString(of uuid: UUID) -> String {
        uuid.uuidString.lowercased()
    }
}
