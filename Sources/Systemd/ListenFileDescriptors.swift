import CSystemd

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Sockets passed in by systemd socket activation (`LISTEN_FDS`, `LISTEN_PID`, `LISTEN_FDNAMES`).
///
/// See sd_listen_fds(3). The descriptors start at 3 (`SD_LISTEN_FDS_START`) and have `FD_CLOEXEC` set.
public enum ListenFileDescriptors {
    /// The first passed descriptor, `SD_LISTEN_FDS_START`.
    public static let start: Int32 = SD_LISTEN_FDS_START

    /// Returns the passed descriptors with their names (`FileDescriptorName=`, "unknown" when unnamed),
    /// or `[]` when the process was not socket-activated (or the fds were meant for another PID).
    ///
    /// Like sd_listen_fds(1, ...) it unsets the `LISTEN_*` variables, so children do not inherit them and a
    /// second call returns `[]`: the caller owns the descriptors from now on. `unsetenv` is not thread-safe:
    /// call this early in `main`, before starting threads.
    public static func take() throws(SystemdError) -> [(fd: Int32, name: String)] {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        let count = try check(sd_listen_fds_with_names(1, &names), "sd_listen_fds_with_names")
        // libsystemd allocates the array and each string; we own both.
        defer {
            if let names {
                for index in 0..<Int(count) { free(names[index]) }
                free(names)
            }
        }
        return (0..<count).map { offset in
            let name = names?[Int(offset)].map { String(cString: $0) } ?? "unknown"
            return (fd: Self.start + offset, name: name)
        }
    }
}
