import Foundation
import Testing

@testable import Agent

@Suite struct HostCollectorTests {
    static func fixture(_ name: String) throws -> String {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
        return url.path
    }

    @Test func firstRoundHasNoRatesSecondRoundComputesThem() async throws {
        // Two fixture trees stand for two readings of /proc one second apart.
        let start = ContinuousClock.now
        var collector = HostCollector(procRoot: try Self.fixture("proc-a"))
        let first = try await collector.collect(at: SampleTime(monotonic: start, wallClockMilliseconds: 0))
        #expect(first.cores == 2)
        #expect(first.memoryTotalBytes == 8_000_000 * 1024)
        #expect(first.memoryInUseBytes == 2_000_000 * 1024)
        #expect(first.cpuCoresInUse == nil)
        #expect(first.networkRxBytesPerSecond == nil)

        // Swap the root by building a collector with the previous reading carried over.
        var second = collector
        second = HostCollector(copying: second, procRoot: try Self.fixture("proc-b"))
        let output = try await second.collect(
            at: SampleTime(monotonic: start + .seconds(2), wallClockMilliseconds: 2000)
        )
        // busy 1500→2300 (+800) of total 10000→11300 (+1300): 2 × 800/1300 cores.
        let cpu = try #require(output.cpuCoresInUse)
        #expect(abs(cpu - 2 * 800.0 / 1300.0) < 1e-9)
        // eth0 only (lo excluded): +300000 rx, +60000 tx over 2 s.
        #expect(output.networkRxBytesPerSecond == 150_000)
        #expect(output.networkTxBytesPerSecond == 30_000)
    }

    @Test func configuredInterfacesSelectTraffic() {
        let text = "  lo: 10 0 0 0 0 0 0 0 20 0 0 0 0 0 0 0\n eth0: 1 0 0 0 0 0 0 0 2 0 0 0 0 0 0 0\n"
        #expect(HostCollector.parseNetDev(text, interfaces: []) == (1, 2))
        #expect(HostCollector.parseNetDev(text, interfaces: ["lo"]) == (10, 20))
    }

    @Test func missingProcIsAnErrorNamingThePath() async throws {
        var collector = HostCollector(procRoot: "/nonexistent-root")
        let error = try await #require(throws: HostCollector.CollectError.self) {
            try await collector.collect(at: SampleTime(monotonic: .now, wallClockMilliseconds: 0))
        }
        #expect(error == .unreadable(path: "/nonexistent-root/proc/stat"))
    }
}
