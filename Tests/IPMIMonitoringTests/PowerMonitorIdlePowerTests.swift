import Foundation
import IPMIMonitoring
import Logging
import Manager
import Testing

@testable import TorporLab

/// The power monitor against a real ipmi_sim BMC: each host's measured idle-awake power is handed out to be
/// recorded once measured and later only when it moved, and a monitor of a later run starts from the recorded value,
/// so a host that sleeps through the restart still counts as saving.
@Suite(.serialized) struct PowerMonitorIdlePowerTests {
    static func monitor(_ bmc: BMCUnderTest) -> PowerMonitor {
        PowerMonitor(
            sources: ["h1": .init(address: bmc.address, user: "admin", passwordFile: bmc.host.passwordFile)],
            sdrCacheDirectory: "\(bmc.directory)/sdr-cache",
            interval: .seconds(1),
            idleWatts: nil,
            logger: Logger(label: "test")
        )
    }

    /// Waits until the BMC itself reads `watts` (it polls its value file every second), so that the monitor's
    /// readings after it are all `watts`.
    static func waitUntilReading(_ bmc: BMCUnderTest, _ watts: Double) async throws {
        let reader = IPMIPowerReader()
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if let readings = try? await reader.readPower(bmc.target()), readings.map(\.watts).reduce(0, +) == watts {
                return
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw BMCTestError("BMC \(bmc.address) never read \(watts) W\n\(bmc.diagnostics())")
    }

    @Test func measuredIdlePowerIsRecordedAndALaterRunStartsFromIt() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("torpor-idle-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try ManagerStore(path: "\(directory)/state.sqlite")
        try await BMCUnderTest.with(powerValue: 60) { bmc in
            try LabBMC.writePassword(bmc.host)
            // The sensor's m = 2: the value file holds watts / 2.
            let first = Self.monitor(bmc)
            await first.remember(idleWatts: try await store.idleWatts())
            try await Self.waitUntilReading(bmc, 120)
            await first.sample(awake: ["h1"])
            // Measured for the first time: handed out at once, whether or not changes are due.
            let measured = await first.idleWattsToRecord(changes: false)
            #expect(measured.keys.sorted() == ["h1"])
            let idle = try #require(measured["h1"])
            #expect(idle == 120)
            try await store.setIdleWatts(measured)
            #expect(await first.idleWattsToRecord(changes: true).isEmpty)

            // Busier: the mean moves; handed out only when changes are due.
            try bmc.setPowerValue(90)
            try await Self.waitUntilReading(bmc, 180)
            await first.sample(awake: ["h1"])
            #expect(await first.idleWattsToRecord(changes: false).isEmpty)
            let moved = await first.idleWattsToRecord(changes: true)
            #expect(moved == ["h1": 150], "the mean of 120 and 180 W")
            // A write that failed is handed out again.
            await first.notRecorded(moved)
            #expect(await first.idleWattsToRecord(changes: false) == moved)
            try await store.setIdleWatts(moved)
            #expect(try await store.idleWatts() == moved)

            // The next run meets the host asleep (standby 8 W): it saves against the recorded mean, not nothing.
            try bmc.setPowerValue(4)
            let next = Self.monitor(bmc)
            await next.remember(idleWatts: try await store.idleWatts())
            try await Self.waitUntilReading(bmc, 8)
            await next.sample(awake: [])
            try await Task.sleep(for: .seconds(1))
            await next.sample(awake: [])
            let host = try #require(await next.snapshot(at: .now).hosts["h1"])
            // 150 W against 8 W over the same interval.
            #expect(abs(host.alwaysOnKWh / host.usedKWh - 150.0 / 8) < 0.01, "\(host)")
            // Nothing measured in this run: nothing to record.
            #expect(await next.idleWattsToRecord(changes: true).isEmpty)
        }
    }

    /// `torpor host remove`: the retired host's BMC is no longer read, listed or recorded.
    @Test func aForgottenHostIsNoLongerReadOrListed() async throws {
        try await BMCUnderTest.with(powerValue: 60) { bmc in
            try LabBMC.writePassword(bmc.host)
            let monitor = Self.monitor(bmc)
            try await Self.waitUntilReading(bmc, 120)
            await monitor.sample(awake: ["h1"])
            #expect(await monitor.snapshot(at: .now).hosts["h1"]?.watts == 120)
            await monitor.forget("h1")
            #expect(await monitor.snapshot(at: .now).hosts.isEmpty)
            #expect(await monitor.idleWattsToRecord(changes: false).isEmpty)
            await monitor.sample(awake: ["h1"])
            #expect(await monitor.snapshot(at: .now).hosts.isEmpty, "read again after it was forgotten")
        }
    }
}
