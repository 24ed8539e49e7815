#if canImport(Glibc)
import Glibc
#endif

/// Reads a whole file of `/proc` (or any file). Foundation sizes its read by `st_size`, which is 0 for `/proc`
/// files, and then stops after one page: `/proc/self/maps` of a linked process, or `/proc/net/dev` of a host with
/// some dozens of VM interfaces, came back cut at 4 KiB. Here `read(2)` is called until it returns 0.
/// Blocking: never on the cooperative pool.
enum ProcFile {
    /// The text of `path`; nil when it cannot be opened or read, or is not UTF-8.
    static func read(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[..<count])
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
