import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The pages the agent touched only while starting (loading and relocating its code, opening libvirt, reading its
/// configuration, TLS set-up) stay resident long after: the kernel maps 64 KB around each file fault, and nothing
/// reclaims clean file pages until memory runs short. Once started, the agent asks the kernel to reclaim the
/// read-only file-backed pages it maps (`madvise(MADV_PAGEOUT)`, Linux 5.4); what it runs afterwards faults back
/// in, so what stays resident is its working set. Pages other processes map too (libc, or libvirt's libraries
/// beside libvirtd) are left alone by the kernel; written pages (relocated data, the heap) are anonymous and not
/// advised.
public enum StartupPages {
    /// One line of `/proc/self/maps`.
    public struct Mapping: Equatable, Sendable {
        public var start: UInt
        public var end: UInt
        public var readable: Bool
        public var writable: Bool
        /// The mapped file; empty for anonymous memory, `[heap]`, `[stack]`, `[vdso]` and the like.
        public var path: String

        public init(start: UInt, end: UInt, readable: Bool, writable: Bool, path: String) {
            self.start = start
            self.end = end
            self.readable = readable
            self.writable = writable
            self.path = path
        }

        /// `7f…-7f… r-xp 00000000 fd:01 1234   /usr/lib/x86_64-linux-gnu/libvirt.so.0.9000.0`; nil when the line
        /// is not one.
        public init?(mapsLine line: Substring) {
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count >= 5 else { return nil }
            let range = fields[0].split(separator: "-")
            let permissions = Array(fields[1])
            guard range.count == 2, let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16),
                start < end, permissions.count == 4
            else { return nil }
            self.start = start
            self.end = end
            readable = permissions[0] == "r"
            writable = permissions[1] == "w"
            path = fields.count == 6 ? String(fields[5].drop { $0 == " " }) : ""
        }

        /// Read-only pages of a file: clean, so reclaimed without being written anywhere.
        public var holdsFilePages: Bool { readable && !writable && path.hasPrefix("/") }
    }

    /// The mappings of `maps` (the text of `/proc/self/maps`) whose pages may be given back.
    public static func releasable(in maps: String) -> [Mapping] {
        maps.split(separator: "\n").compactMap(Mapping.init(mapsLine:)).filter(\.holdsFilePages)
    }

    public struct Release: Equatable, Sendable {
        /// Mappings advised.
        public var mappings: Int
        /// Resident file pages (`RssFile` of `/proc/self/status`) before and after, in KiB.
        public var residentFileKiBBefore: Int
        public var residentFileKiBAfter: Int
    }

    public enum ReleaseError: Error, Equatable, CustomStringConvertible {
        case unreadable(path: String)
        /// The kernel refused the advice (before Linux 5.4 it does not know MADV_PAGEOUT).
        case refused(errno: Int32)

        public var description: String {
            switch self {
            case .unreadable(let path): "cannot read \(path)"
            case .refused(let code): "the kernel refused MADV_PAGEOUT: \(String(cString: strerror(code)))"
            }
        }
    }

    /// Advises every releasable mapping of this process. Blocking (reads `/proc`, one system call per mapping):
    /// never on the cooperative pool.
    public static func releaseNow() throws(ReleaseError) -> Release {
        let before = try residentFileKiB()
        guard let maps = ProcFile.read("/proc/self/maps") else {
            throw .unreadable(path: "/proc/self/maps")
        }
        let advised = try release(releasable(in: maps))
        return Release(mappings: advised, residentFileKiBBefore: before, residentFileKiBAfter: try residentFileKiB())
    }

    /// Advises `mappings` (of this process) and returns how many were advised. One mapping refused (locked, a
    /// device, gone meanwhile) is skipped; all of them refused is the kernel not knowing the advice.
    public static func release(_ mappings: [Mapping]) throws(ReleaseError) -> Int {
        var advised = 0
        var refusal: Int32?
        for mapping in mappings {
            let pointer = UnsafeMutableRawPointer(bitPattern: mapping.start)
            guard madvise(pointer, Int(mapping.end - mapping.start), MADV_PAGEOUT) == 0 else {
                refusal = errno
                continue
            }
            advised += 1
        }
        if advised == 0, let refusal { throw .refused(errno: refusal) }
        return advised
    }

    /// `RssFile` of `/proc/self/status`, in KiB.
    public static func residentFileKiB() throws(ReleaseError) -> Int {
        guard let status = ProcFile.read("/proc/self/status"),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("RssFile:") }),
            let kib = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap({
                Int($0.trimmingCharacters(in: .whitespaces))
            })
        else { throw .unreadable(path: "/proc/self/status") }
        return kib
    }
}
