import Foundation
import IPMIMonitoring
import Testing

@testable import TorporLab

/// Against a real OpenIPMI `ipmi_sim` on loopback: the lab BMC's power sensor has m = 2, so a value file
/// holding N reads 2N watts.
@Suite struct IPMIPowerReaderTests {
    let reader = IPMIPowerReader()

    @Test func readsThePowerSensorInWatts() async throws {
        try await BMCUnderTest.with(powerValue: 60) { bmc in
            let readings = try await bmc.waitUntilReadable(reader)
            #expect(readings == [PowerSensorReading(name: "Power", watts: 120)], "\(bmc.diagnostics())")
            // freeipmi cached the SDR where it was told to.
            let cached = (try? FileManager.default.subpathsOfDirectory(atPath: "\(bmc.directory)/sdr-cache")) ?? []
            #expect(!cached.isEmpty, "\(bmc.diagnostics())")
        }
    }

    @Test func rewritingTheValueFileChangesTheReading() async throws {
        try await BMCUnderTest.with(powerValue: 60) { bmc in
            _ = try await bmc.waitUntilReadable(reader)
            try bmc.setPowerValue(85)
            // The BMC polls the file every second; give it ten.
            var latest: [PowerSensorReading] = []
            for _ in 0..<40 {
                latest = try await reader.readPower(bmc.target())
                if latest.first?.watts == 170 { break }
                try await Task.sleep(for: .milliseconds(250))
            }
            #expect(latest == [PowerSensorReading(name: "Power", watts: 170)], "\(bmc.diagnostics())")
        }
    }

    @Test func wrongPasswordIsAnAuthenticationErrorNamingTheHost() async throws {
        try await BMCUnderTest.with { bmc in
            _ = try await bmc.waitUntilReadable(reader)
            let error = await #expect(throws: IPMIMonitoringError.self) {
                try await reader.readPower(bmc.target(password: "not-the-password"))
            }
            guard case .authentication(let host, let message) = error else {
                Issue.record("expected .authentication, got \(String(describing: error))\n\(bmc.diagnostics())")
                return
            }
            #expect(host == bmc.address)
            #expect(!message.isEmpty)
            #expect(error?.description.contains(bmc.address) == true)
        }
    }

    @Test func noBMCListeningIsUnreachableInBoundedTime() async throws {
        let port = try TestPorts.unused()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("torpor-ipmi-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let target = IPMITarget(
            host: "127.0.0.1:\(port)",
            user: "admin",
            password: "secret",
            sdrCacheDirectory: directory
        )
        let clock = ContinuousClock()
        let start = clock.now
        let error = await #expect(throws: IPMIMonitoringError.self) {
            try await reader.readPower(target)
        }
        let elapsed = clock.now - start
        #expect(error == .unreachable(host: "127.0.0.1:\(port)", message: "connection timeout"))
        #expect(error?.description == "BMC 127.0.0.1:\(port) is unreachable: connection timeout")
        // The default session timeout is 4 s; the bound leaves room for a loaded machine (and a test process whose
        // other tests hold the cooperative pool for a while).
        #expect(elapsed < .seconds(180))
    }

    @Test func manyConcurrentReadsComplete() async throws {
        try await BMCUnderTest.with(powerValue: 60) { bmc in
            _ = try await bmc.waitUntilReadable(reader)
            let target = bmc.target()
            let reader = reader
            let results = try await withThrowingTaskGroup(of: [PowerSensorReading].self) { group in
                for _ in 0..<8 {
                    group.addTask { try await reader.readPower(target) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.count == 8)
            #expect(
                results.allSatisfy { $0 == [PowerSensorReading(name: "Power", watts: 120)] },
                "\(results)\n\(bmc.diagnostics())"
            )
        }
    }

    @Test func aBMCWithoutWattSensorsIsNoPowerSensor() async throws {
        // Only the BMC's own locator record: no sensors at all.
        let sdr = LabBMC.sdrSource.components(separatedBy: "sdr type 1\n")[0]
        try await BMCUnderTest.with(sdrSource: sdr) { bmc in
            let deadline = ContinuousClock.now + .seconds(20)
            var outcome: IPMIMonitoringError?
            polling: while ContinuousClock.now < deadline {
                let result: Result<[PowerSensorReading], IPMIMonitoringError>
                do throws(IPMIMonitoringError) {
                    result = .success(try await reader.readPower(bmc.target()))
                } catch {
                    result = .failure(error)
                }
                switch result {
                case .success(let readings):
                    Issue.record("expected no power sensor, read \(readings)")
                    return
                case .failure(.unreachable):
                    // Not up yet.
                    try await Task.sleep(for: .milliseconds(200))
                case .failure(let error):
                    outcome = error
                    break polling
                }
            }
            #expect(outcome == .noPowerSensor(host: bmc.address), "\(bmc.diagnostics())")
        }
    }

    @Test func anUncreatableCacheDirectoryIsAnSDRCacheError() async {
        let target = IPMITarget(
            host: "127.0.0.1:1",
            user: "admin",
            password: "secret",
            sdrCacheDirectory: "/dev/null/sdr-cache"
        )
        let error = await #expect(throws: IPMIMonitoringError.self) {
            try await reader.readPower(target)
        }
        guard case .sdrCache(let directory, _) = error else {
            Issue.record("expected .sdrCache, got \(String(describing: error))")
            return
        }
        #expect(directory == "/dev/null/sdr-cache")
    }
}
