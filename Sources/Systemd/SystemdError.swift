#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed libsystemd call: which function, and the errno it reported.
///
/// sd-* functions return `-errno` on failure; ``errno`` holds the positive value.
public struct SystemdError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The C function that failed, e.g. `sd_notify`.
    public var function: String
    /// The positive errno value (`ENOENT`, `EINVAL`, ...).
    public var errno: Int32

    public init(function: String, errno: Int32) {
        self.function = function
        self.errno = errno
    }

    /// The C library's text for ``errno``.
    public var message: String {
        // strerror_r, not strerror: the latter may use a shared buffer for unknown codes.
        var buffer = [CChar](repeating: 0, count: 256)
        guard strerror_r(self.errno, &buffer, buffer.count) == 0 else {
            return "Unknown error \(self.errno)"
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public var description: String {
        "\(self.function): \(self.message) (errno \(self.errno))"
    }
}

/// Converts the sd-* convention (negative errno on failure, anything else is a result) into a typed throw.
@discardableResult
func check(_ result: Int32, _ function: String) throws(SystemdError) -> Int32 {
    guard result >= 0 else {
        throw SystemdError(function: function, errno: -result)
    }
    return result
}
