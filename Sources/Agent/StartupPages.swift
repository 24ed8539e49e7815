import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The pages the agent touched only while starting (loading and relocating its code, opening libvirt, reading its
/// configuration, TLS set-up) stay resident long after: the kernel maps 64 KB around each file fault, and nothing
/// reclaims clean file pages until memory runs short. Once started, the agent gives them back in two steps:
/// 1. It asks the kernel to reclaim the read-only file-backed pages it maps (`madvise(MADV_PAGEOUT)`, Linux 5.4).
///    The kernel skips pages other processes map too (libc; libvirt's libraries beside libvirtd), and, for a
///    caller that could not write the file (the packaged agent and root's files), every page of it.
/// 2. From the mappings that hold no page of their own (`Anonymous` and `Swap` of `/proc/self/smaps` both 0: no
///    relocation was written there), it drops its hold on those shared pages (`MADV_DONTNEED`). They stay in
///    memory for the processes using them; were the agent to touch one again, it is mapped back from the page
///    cache unchanged. A mapping with written pages (RELRO after relocation) is never dropped: that would undo
///    the relocations.
/// What the agent runs afterwards faults back in, so what stays resident is its working set.
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

    /// One mapping of `/proc/self/smaps` with the pages of its own it holds.
    public struct Holding: Equatable, Sendable {
        public var mapping: Mapping
        /// Pages of the mapping in this process's page tables, in KiB.
        public var residentKiB: Int
        /// Pages written since mapped (copied on write), and such pages swapped out, in KiB.
        public var anonymousKiB: Int
        public var swapKiB: Int
    }

    /// The mappings of `smaps` (the text of `/proc/self/smaps`), each with its `Rss`, `Anonymous` and `Swap`.
    public static func holdings(in smaps: String) -> [Holding] {
        var holdings: [Holding] = []
        for line in smaps.split(separator: "\n") {
            if let mapping = Mapping(mapsLine: line) {
                holdings.append(Holding(mapping: mapping, residentKiB: 0, anonymousKiB: 0, swapKiB: 0))
                continue
            }
            guard !holdings.isEmpty else { continue }
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let kib = Int(fields[1]) else { continue }
            switch fields[0] {
            case "Rss:": holdings[holdings.count - 1].residentKiB = kib
            case "Anonymous:": holdings[holdings.count - 1].anonymousKiB = kib
            case "Swap:": holdings[holdings.count - 1].swapKiB = kib
            default: break
            }
        }
        return holdings
    }

    /// The read-only file mappings of `smaps` holding no page of their own: dropping them loses nothing, as
    /// every page comes back from its file as it was.
    public static func droppable(in smaps: String) -> [Mapping] {
        holdings(in: smaps).filter { $0.mapping.holdsFilePages && $0.anonymousKiB == 0 && $0.swapKiB == 0 }.map(
            \.mapping
        )
    }

    public struct Release: Equatable, Sendable {
        /// Mappings paged out, and mappings whose shared pages were then dropped.
        public var mappings: Int
        public var dropped: Int
        /// Resident file pages (`RssFile` of `/proc/self/status`) before and after, in KiB.
        public var residentFileKiBBefore: Int
        public var residentFileKiBAfter: Int
    }

    public enum ReleaseError: Error, Equatable, CustomStringConvertible {
        case unreadable(path: String)
        /// The kernel refused the advice (before Linux 5.4 it does not know MADV_PAGEOUT).
        case refused(errno: Int32, advice: Int32)

        public var description: String {
            switch self {
            case .unreadable(let path): "cannot read \(path)"
            case .refused(let code, let advice):
                "the kernel refused \(advice == MADV_DONTNEED ? "MADV_DONTNEED" : "MADV_PAGEOUT"): "
                    + String(cString: strerror(code))
            }
        }
    }

    /// Pages out every releasable mapping of this process, then drops the shared pages of those holding none of
    /// their own. Blocking (reads `/proc`, one system call per mapping): never on the cooperative pool.
    public static func releaseNow() throws(ReleaseError) -> Release {
        let before = try residentFileKiB()
        guard let maps = ProcFile.read("/proc/self/maps") else { throw .unreadable(path: "/proc/self/maps") }
        let pagedOut = try release(releasable(in: maps))
        // Read after paging out: a page of a relocated mapping swapped out just now shows as `Swap`.
        guard let smaps = ProcFile.read("/proc/self/smaps") else { throw .unreadable(path: "/proc/self/smaps") }
        let dropped = try release(droppable(in: smaps), advice: MADV_DONTNEED)
        return Release(
            mappings: pagedOut,
            dropped: dropped,
            residentFileKiBBefore: before,
            residentFileKiBAfter: try residentFileKiB()
        )
    }

    /// Advises `mappings` (of this process; `MADV_PAGEOUT` unless told) and returns how many were advised. One
    /// mapping refused (locked, a device, gone meanwhile) is skipped; all of them refused is the kernel not knowing
    /// the advice.
    public static func release(_ mappings: [Mapping], advice: Int32 = MADV_PAGEOUT) throws(ReleaseError) -> Int {
        var advised = 0
        var refusal: Int32?
        for mapping in mappings {
            let pointer = UnsafeMutableRawPointer(bitPattern: mapping.start)
            guard madvise(pointer, Int(mapping.end - mapping.start), advice) == 0 else {
                refusal = errno
                continue
            }
            advised += 1
        }
        if advised == 0, let refusal { throw .refused(errno: refusal, advice: advice) }
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
