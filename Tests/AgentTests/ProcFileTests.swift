import Foundation
import Testing

@testable import Agent

#if canImport(Glibc)
import Glibc
#endif

/// `/proc` files are read whole, past the first page Foundation stops at.
@Suite struct ProcFileTests {
    /// 300 mappings of our own, each on a line of `/proc/self/maps` far beyond its first 4 KiB.
    @Test func mapsIsReadPastItsFirstPage() throws {
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        var mappings: [UnsafeMutableRawPointer] = []
        defer { for (index, base) in mappings.enumerated() { munmap(base, (index + 1) * pageSize) } }
        for index in 0..<300 {
            // Sizes differ and every other one is unreadable, so the kernel cannot merge neighbours.
            let base = try #require(
                mmap(
                    nil,
                    (index + 1) * pageSize,
                    index % 2 == 0 ? PROT_READ : PROT_NONE,
                    MAP_PRIVATE | MAP_ANONYMOUS,
                    -1,
                    0
                )
            )
            try #require(base != MAP_FAILED)
            mappings.append(base)
        }
        let maps = try #require(ProcFile.read("/proc/self/maps"))
        #expect(maps.utf8.count > 300 * 40)
        let starts = Set(maps.split(separator: "\n").compactMap(StartupPages.Mapping.init(mapsLine:)).map(\.start))
        let missing = mappings.filter { !starts.contains(UInt(bitPattern: $0)) }
        #expect(missing.isEmpty, "\(missing.count) of 300 mappings not read")
    }

    @Test func aRegularFileIsReadWhole() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("proc-file-\(getpid())").path
        defer { unlink(path) }
        let text = String(repeating: "0123456789abcdef\n", count: 5_000)
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        #expect(ProcFile.read(path) == text)
    }

    @Test func aMissingFileIsNil() {
        #expect(ProcFile.read("/proc/self/no-such-file") == nil)
    }
}
