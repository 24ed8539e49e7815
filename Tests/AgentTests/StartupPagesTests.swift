import Foundation
import Logging
import ServiceLifecycle
import TestSupport
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
        let file = try TemporaryFile("startup-pages", pages: 256, byte: 7)
        defer { file.close() }
        let base = try file.map()
        let length = file.length
        #expect(file.readEveryPage(base) == 7 * 256)
        func residentPages() -> Int {
            var vector = [UInt8](repeating: 0, count: 256)
            guard mincore(base, length, &vector) == 0 else { return -1 }
            return vector.filter { $0 & 1 == 1 }.count
        }
        // Reclaim (DAMON's, or a concurrent build's pressure) may take a page between the read and the look.
        var resident = residentPages()
        for _ in 0..<3 where resident != 256 {
            _ = file.readEveryPage(base)
            resident = residentPages()
        }
        #expect(resident == 256)

        let start = UInt(bitPattern: base)
        let mapping = StartupPages.Mapping(
            start: start,
            end: start + UInt(length),
            readable: true,
            writable: false,
            path: file.path
        )
        // Found in this process's maps as one to give back.
        let maps = try #require(ProcFile.read("/proc/self/maps"))
        #expect(StartupPages.releasable(in: maps).contains(mapping))
        #expect(try StartupPages.release([mapping]) == 1)
        #expect(residentPages() < 256 / 2, "\(residentPages()) of 256 pages still resident")
        // Read again, they come back.
        #expect(file.readEveryPage(base) == 7 * 256)
    }

    static let smaps = """
        55d0c0a00000-55d0c1e00000 r-xp 00200000 fd:01 1048                       /usr/bin/torpor-agent
        Size:              20480 kB
        Rss:                6144 kB
        Anonymous:             0 kB
        Swap:                  0 kB
        SwapPss:               0 kB
        VmFlags: rd ex mr mw me
        55d0c1e00000-55d0c1f00000 r--p 01600000 fd:01 1048                       /usr/bin/torpor-agent
        Size:               1024 kB
        Rss:                1024 kB
        Anonymous:           812 kB
        AnonHugePages:         0 kB
        Swap:                  0 kB
        VmFlags: rd mr mw me ac
        7f3a1c000000-7f3a1c300000 r--p 00000000 fd:01 2077                       /usr/lib/x86_64-linux-gnu/libvirt.so.0
        Size:               3072 kB
        Rss:                  64 kB
        Anonymous:             0 kB
        Swap:                 16 kB
        VmFlags: rd mr mw me
        7f3a20000000-7f3a20021000 rw-p 00000000 00:00 0
        Size:                132 kB
        Rss:                   8 kB
        Anonymous:             8 kB
        Swap:                  0 kB
        VmFlags: rd wr mr mw me ac
        """

    @Test func smapsIsReadMappingByMapping() {
        let holdings = StartupPages.holdings(in: Self.smaps)
        #expect(
            holdings.map(\.mapping.start) == [0x55d0_c0a0_0000, 0x55d0_c1e0_0000, 0x7f3a_1c00_0000, 0x7f3a_2000_0000]
        )
        #expect(holdings.map(\.residentKiB) == [6144, 1024, 64, 8])
        #expect(holdings.map(\.anonymousKiB) == [0, 812, 0, 8])
        #expect(holdings.map(\.swapKiB) == [0, 0, 16, 0])
    }

    /// Only the code: the relocated data holds written pages, the library has some swapped out, the last mapping
    /// is anonymous.
    @Test func onlyMappingsHoldingNoPageOfTheirOwnAreDropped() {
        #expect(StartupPages.droppable(in: Self.smaps).map(\.start) == [0x55d0_c0a0_0000])
    }

    /// A file mapped twice, as a library is by the agent and by libvirtd: dropping takes its pages out of one
    /// mapping only, they stay in memory (`mincore` reports the page cache) for the other, and reading again finds
    /// the file's bytes. (Paging out is not checked here: the kernel counts both mappings as one process's and may
    /// reclaim pages they share.) The other mapping is locked in memory, as reclaim (DAMON's on this machine, or
    /// memory pressure from a build) may otherwise take the shared pages at any moment.
    @Test func sharedPagesAreDroppedFromOneMappingAndReadBackUnchanged() throws {
        let file = try TemporaryFile("shared-pages", pages: 64, byte: 9)
        defer { file.close() }
        let ours = try file.map()
        let theirs = try file.map(flags: MAP_SHARED)
        #expect(file.readEveryPage(ours) == 9 * 64 && file.readEveryPage(theirs) == 9 * 64)
        try #require(mlock(theirs, file.length) == 0, "mlock: \(String(cString: strerror(errno)))")
        defer { munlock(theirs, file.length) }
        func resident(_ base: UnsafeMutableRawPointer) throws -> Int {
            let smaps = try #require(ProcFile.read("/proc/self/smaps"))
            let holding = try #require(
                StartupPages.holdings(in: smaps).first { $0.mapping.start == UInt(bitPattern: base) }
            )
            return holding.residentKiB
        }
        let pageKiB = file.pageSize / 1024
        #expect(try resident(ours) == 64 * pageKiB)

        let smaps = try #require(ProcFile.read("/proc/self/smaps"))
        let mapping = try #require(StartupPages.droppable(in: smaps).first { $0.start == UInt(bitPattern: ours) })
        #expect(try StartupPages.release([mapping], advice: MADV_DONTNEED) == 1)
        #expect(try resident(ours) == 0)
        #expect(try resident(theirs) == 64 * pageKiB)
        var inMemory = [UInt8](repeating: 0, count: 64)
        #expect(mincore(ours, file.length, &inMemory) == 0)
        #expect(inMemory.allSatisfy { $0 & 1 == 1 }, "dropped pages left memory")
        #expect(file.readEveryPage(ours) == 9 * 64)
    }

    /// A page written and then made read-only, as the loader leaves relocated data (RELRO): never dropped, and
    /// still holding what was written once the rest is given back.
    @Test func aWrittenReadOnlyPageIsNeverDropped() throws {
        let file = try TemporaryFile("relocated", pages: 8, byte: 1)
        defer { file.close() }
        let base = try file.map(protection: PROT_READ | PROT_WRITE)
        let pageSize = file.pageSize
        base.storeBytes(of: 42, toByteOffset: pageSize, as: UInt8.self)
        #expect(mprotect(base, file.length, PROT_READ) == 0)

        let smaps = try #require(ProcFile.read("/proc/self/smaps"))
        let start = UInt(bitPattern: base)
        #expect(StartupPages.releasable(in: smaps).contains { $0.start == start })
        #expect(!StartupPages.droppable(in: smaps).contains { $0.start == start })
        let written = try #require(StartupPages.holdings(in: smaps).first { $0.mapping.start == start })
        #expect(written.anonymousKiB == pageSize / 1024)
        _ = try StartupPages.release(StartupPages.releasable(in: smaps).filter { $0.start == start })
        #expect(base.load(fromByteOffset: pageSize, as: UInt8.self) == 42)
    }

    /// An agent stopped before the delay ran out exits at once: the group waits for every service, and this one
    /// used to sleep its delay through (CI's socket-activation and KVM tests stopped agents in their first seconds
    /// and killed them 10 s later). With an hour's delay, the test's time limit stands for "never".
    @Test(.timeLimit(.minutes(1))) func aStopBeforeTheDelayRanOutIsNotHeldBack() async throws {
        let logger = Logger(label: "test")
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: StartupPagesService(delay: .seconds(3600), logger: logger))],
                logger: logger
            )
        )
        async let running: Void = group.run()
        try await Task.sleep(for: .milliseconds(100))
        await group.triggerGracefulShutdown()
        try await running
    }

    /// Released while the agent is stopping, before the group has told this service to stop: the group must still
    /// end cleanly. A service the group has not yet told to stop that returns fails a stopping group, whatever its
    /// `successTerminationBehavior`, and a CI run's agent exited 1 so when stopped 10 s after it started. Here a
    /// later service (stopped first) holds the shutdown open until the pages have been released.
    @Test(.timeLimit(.minutes(1))) func pagesReleasedWhileTheAgentStopsLeaveItToStopCleanly() async throws {
        let logs = CapturedLogs(label: "test")
        let logger = logs.logger
        struct StopsOnceThePagesAreReleased: Service {
            let logs: CapturedLogs
            func run() async throws {
                try? await gracefulShutdown()
                _ = await logs.waitFor("start-up pages")
            }
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(
                        service: StartupPagesService(delay: .seconds(1), logger: logger),
                        successTerminationBehavior: .ignore
                    ),
                    .init(service: StopsOnceThePagesAreReleased(logs: logs)),
                ],
                logger: logger
            )
        )
        async let running: Void = group.run()
        try await Task.sleep(for: .milliseconds(100))
        await group.triggerGracefulShutdown()
        try await running
        #expect(!logs.matching("start-up pages").isEmpty, "the pages were never released")
    }

    @Test func residentFileMemoryIsRead() throws {
        #expect(try StartupPages.residentFileKiB() > 0)
    }
}

/// A temporary file of `pages` pages, each byte `byte`, open read-only. It is written back to disk and its pages
/// evicted, so that mapping it reads them in afresh, as the agent's libraries were read in when it started: pages
/// just written are held for a while by the writing CPU's batches, and the kernel neither splits nor pages out a
/// folio someone else holds (the test failed one run in three beside other tests). `close()` unmaps what `map`
/// mapped, closes the file and removes it.
private final class TemporaryFile {
    let path: String
    let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
    let length: Int
    private let descriptor: Int32
    private var mappings: [UnsafeMutableRawPointer] = []

    init(_ name: String, pages: Int, byte: UInt8) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(getpid())").path
        length = pages * pageSize
        try Data(repeating: byte, count: length).write(to: URL(fileURLWithPath: path))
        descriptor = open(path, O_RDONLY)
        guard descriptor >= 0, fsync(descriptor) == 0, posix_fadvise(descriptor, 0, 0, POSIX_FADV_DONTNEED) == 0
        else {
            unlink(path)
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
    }

    /// The whole file, mapped (read-only and private unless told).
    func map(protection: Int32 = PROT_READ, flags: Int32 = MAP_PRIVATE) throws -> UnsafeMutableRawPointer {
        guard let base = mmap(nil, length, protection, flags, descriptor, 0), base != MAP_FAILED else {
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        mappings.append(base)
        return base
    }

    /// Reads one byte of every page of a mapping (faulting each in) and returns their sum.
    func readEveryPage(_ base: UnsafeMutableRawPointer) -> Int {
        stride(from: 0, to: length, by: pageSize).reduce(0) { $0 + Int(base.load(fromByteOffset: $1, as: UInt8.self)) }
    }

    func close() {
        for base in mappings { munmap(base, length) }
        mappings = []
        Glibc.close(descriptor)
        unlink(path)
    }
}
