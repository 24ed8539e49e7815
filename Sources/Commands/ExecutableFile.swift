import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Scripts written to be run: the lab's power scripts, the tests' stand-ins.
public enum ExecutableFile {
    /// Names the file and the call that failed ("open /x/power-on: Permission denied").
    public struct WriteError: LocalizedError, CustomStringConvertible {
        public var description: String
        public var errorDescription: String? { description }
    }

    /// Writes `text` to `path`, mode 0755, through a close-on-exec descriptor: a program another thread starts
    /// meanwhile must not inherit the open file, or running the script fails with "Text file busy" for as long as
    /// that program runs (Foundation's `write(toFile:)` leaves the descriptor inheritable).
    public static func write(_ text: String, to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
        guard descriptor >= 0 else {
            throw WriteError(description: "open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes[written...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            guard result > 0 else {
                if result < 0, errno == EINTR { continue }
                throw WriteError(description: "write \(path): \(String(cString: strerror(errno)))")
            }
            written += result
        }
        guard fchmod(descriptor, 0o755) == 0 else {
            throw WriteError(description: "chmod \(path): \(String(cString: strerror(errno)))")
        }
    }
}
