import Foundation

/// Files holding secrets (private keys, IPMI passwords): refused when every user may read them, and written 0600.
public enum SecretFile {
    /// Throws `.secretFileTooOpen` naming `path` when its mode grants "others" read access.
    public static func checkPermissions(_ path: String) throws(TrustError) {
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: path)
        } catch {
            throw .unreadable(path: path, reason: Self.reason(error))
        }
        let mode = (attributes[.posixPermissions] as? NSNumber)?.uint16Value ?? 0
        if mode & 0o004 != 0 {
            throw .secretFileTooOpen(path: path, mode: String(mode, radix: 8))
        }
    }

    /// Reads a secret after checking its permissions.
    public static func read(_ path: String) throws(TrustError) -> Data {
        try checkPermissions(path)
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadable(path: path, reason: Self.reason(error))
        }
    }

    /// Writes `contents` to a new file readable by its owner only; never replaces an existing file.
    public static func create(_ path: String, contents: Data) throws(TrustError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw .unreadable(path: path, reason: "cannot create it: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        // O_CREAT's mode is filtered by the umask; say 0600 explicitly.
        fchmod(descriptor, 0o600)
        let written = contents.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == contents.count else {
            throw .unreadable(path: path, reason: "cannot write it: \(String(cString: strerror(errno)))")
        }
    }

    static func reason(_ error: any Error) -> String {
        let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
        if let underlying, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return error.localizedDescription
    }
}
