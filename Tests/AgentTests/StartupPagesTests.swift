import Foundation
import Testing

@testable import Agent

#if canImport(Glibc)
import Glibc
#endif

/// Which mappings the agent gives back once started, and that giving them back really lowers resident memory.
@Suite struct StartupPagesTests {
    @Test(arguments: [
        // Code and read-only data of a file: given back.
        ("55d0c0a00000-55d0c1e00000 r-xp 00200000 fd:01 1048 /usr/bin/torpor-agent", true),
        ("7f3a1c000000-7f3a1c300000 r--p 00000000 fd:01 2077 /usr/lib/x86_64-linux-gnu/libvirt.so.0.9000.0", true),
        ("7f3a1c000000-7f3a1c300000 r--p 00000000 fd:01 2077 /tmp/a file with spaces.so", true),
        // Written pages: relocated data, the heap, stacks, anonymous memory.
        ("55d0c2000000-55d0c2100000 rw-p 01a00000 fd:01 1048 /usr/bin/torpor-agent", false),
        ("55d0c3000000-55d0c3400000 rw-p 00000000 00:00 0 [heap]", false),
        ("7f3a20000000-7f3a20021000 rw-p 00000000 00:00 0", false),
        // Kernel-provided, guard pages and unreadable ones.
        ("7ffc6a5f0000-7ffc6a5f2000 r-xp 00000000 00:00 0 [vdso]", false),
        ("7f3a1c300000-7f3a1c301000 ---p 00300000 fd:01 2077 /usr/lib/x86_64-linux-gnu/libvirt.so.0.9000.0", false),
    ])
    func aMappingIsGivenBackOnlyWhenItHoldsReadOnlyFilePages(line: String, releasable: Bool) throws {
        let mapping = try #require(StartupPages.Mapping(mapsLine: Substring(line)))
        #expect(mapping.holdsFilePages == releasable, "\(mapping)")
    }

    @Test func aMappingLineIsReadWhole() throws {
        let line = "7f3a1c000000-7f3a1c300000 r--p 00000000 fd:01 2077   /tmp/a file with spaces.so"
        let mapping = try #require(StartupPages.Mapping(mapsLine: Substring(line)))
        #expect(mapping.start == 0x7f3a_1c00_0000 && mapping.end == 0x7f3a_1c30_0000)
        #expect(mapping.readable && !mapping.writable)
        #expect(mapping.path == "/tmp/a file with spaces.so")
    }

    @Test(arguments: ["", "not a mapping", "zz-10 r--p 0 0 0", "20-10 r--p 0 fd:01 1 /x", "10-20 r-p 0 fd:01 1 /x"])
    func aLineThatIsNoMappingIsSkipped(line: String) {
        #expect(StartupPages.Mapping(mapsLine: Substring(line)) == nil)
        #expect(StartupPages.releasable(in: line).isEmpty)
    }

    /// A file of our own, mapped read-only and read through: its pages are resident until given back, and the
    /// kernel (`mincore`) then finds them gone. The test process's own code is left alone.
    @Test func givenBackPagesAreNoLongerResident() throws {
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let length = 256 * pageSize
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("startup-pages-\(getpid())").path
        defer { unlink(path) }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(repeating: 7, count: length)))
        let descriptor = open(path, O_RDONLY)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        // Written back first: the kernel gives back clean pages at once.
        #expect(fsync(descriptor) == 0)
        let base = try #require(mmap(nil, length, PROT_READ, MAP_PRIVATE, descriptor, 0))
        try #require(base != MAP_FAILED)
        defer { munmap(base, length) }
        var sum = 0
        for page in stride(from: 0, to: length, by: pageSize) {
            sum += Int(base.load(fromByteOffset: page, as: UInt8.self))
        }
        #expect(sum == 7 * 256)
        func residentPages() -> Int {
            var vector = [UInt8](repeating: 0, count: 256)
            guard mincore(base, length, &vector) == 0 else { return -1 }
            return vector.filter { $0 & 1 == 1 }.count
        }
        #expect(residentPages() == 256)

        let start = UInt(bitPattern: base)
        let mapping = StartupPages.Mapping(
            start: start,
            end: start + UInt(length),
            readable: true,
            writable: false,
            path: path
        )
        // Found in this process's maps as one to give back.
        let maps = try #require(ProcFile.read("/proc/self/maps"))
        #expect(StartupPages.releasable(in: maps).contains(mapping))
        #expect(try StartupPages.release([mapping]) == 1)
        #expect(residentPages() < 256 / 2, "\(residentPages()) of 256 pages still resident")
        // Read again, they come back.
        for page in stride(from: 0, to: length, by: pageSize) {
            sum += Int(base.load(fromByteOffset: page, as: UInt8.self))
        }
        #expect(sum == 2 * 7 * 256)
    }

    @Test func residentFileMemoryIsRead() throws {
        #expect(try StartupPages.residentFileKiB() > 0)
    }
}
