import Testing

@testable import Energy

@Suite struct PowerMeterTests {
    /// Energy values are sums of products of small integers, so they are compared with a tolerance in kWh.
    static func close(_ lhs: Double, _ rhs: Double) -> Bool { abs(lhs - rhs) < 1e-12 }

    static func kWh(watts: Double, seconds: Double) -> Double { watts * seconds / 3_600_000 }

    @Test func constantPowerGivesExactEnergy() throws {
        var meter = PowerMeter(ringCapacity: 100, maximumGap: .seconds(30))
        for second in stride(from: 0, through: 3600, by: 10) {
            meter.record(hostID: "h1", watts: 200, at: .seconds(second), awake: true)
        }
        let report = meter.report(at: .seconds(3605))
        let row = try #require(report.hosts.first)
        // 200 W for one hour.
        #expect(row.energyKWh == 0.2)
        #expect(row.alwaysOnKWh == 0.2)
        #expect(row.sampleCount == 361)
        #expect(row.latestWatts == 200)
        #expect(row.latestAt == .seconds(3600))
        #expect(row.age == .seconds(5))
        #expect(row.awake)
        #expect(report.savedKWh == 0)
        #expect(report.savedPercent == 0)
    }

    @Test func trapezoidBetweenReadings() {
        var meter = PowerMeter(ringCapacity: 10, maximumGap: .seconds(60))
        meter.record(hostID: "h1", watts: 100, at: .zero, awake: true)
        meter.record(hostID: "h1", watts: 300, at: .seconds(36), awake: true)
        // Mean 200 W over 36 s = 7200 J.
        #expect(meter.report(at: .seconds(36)).hosts[0].energyKWh == 0.002)
    }

    @Test func gapLongerThanMaximumIsCappedHoldingThePreviousValue() {
        var meter = PowerMeter(ringCapacity: 10, maximumGap: .seconds(30))
        meter.record(hostID: "h1", watts: 100, at: .zero, awake: true)
        meter.record(hostID: "h1", watts: 500, at: .seconds(600), awake: true)
        let row = meter.report(at: .seconds(600)).hosts[0]
        // Only 30 s at the earlier 100 W, not 600 s, and not the later 500 W.
        #expect(Self.close(row.energyKWh, Self.kWh(watts: 100, seconds: 30)))
        #expect(Self.close(row.alwaysOnKWh, row.energyKWh))
    }

    @Test func sleepingHostIsEstimatedAtItsAwakeMean() {
        var meter = PowerMeter(ringCapacity: 100, maximumGap: .seconds(60))
        // Awake readings averaging 100 W (80 and 120), then asleep at 5 W for 100 s.
        meter.record(hostID: "h1", watts: 80, at: .zero, awake: true)
        meter.record(hostID: "h1", watts: 120, at: .seconds(10), awake: true)
        meter.record(hostID: "h1", watts: 5, at: .seconds(20), awake: false)
        for second in stride(from: 30, through: 120, by: 10) {
            meter.record(hostID: "h1", watts: 5, at: .seconds(second), awake: false)
        }
        #expect(meter.idleWatts(of: "h1") == 100)
        let row = meter.report(at: .seconds(120)).hosts[0]
        let awakeJoules = 100.0 * 10
        let fallingAsleepJoules = (120.0 + 5) / 2 * 10
        let asleepJoules = 5.0 * 100
        #expect(Self.close(row.energyKWh, (awakeJoules + fallingAsleepJoules + asleepJoules) / 3_600_000))
        // Every interval with a sleeping end counts 100 W: 110 s from 10 s to 120 s.
        #expect(Self.close(row.alwaysOnKWh, (awakeJoules + 100 * 110) / 3_600_000))
        #expect(row.savedKWh > 0)
        #expect(!row.awake)
    }

    /// A BMC whose sensor has not been updated yet reads 0 W for a host that is up (seen in a lab rehearsal: the
    /// first reading recorded 0 W as the host's idle power, and the next run counted its sleep as costing energy).
    @Test func aZeroReadingOfAnAwakeHostDoesNotFeedTheIdleEstimate() {
        var meter = PowerMeter(ringCapacity: 10, maximumGap: .seconds(60))
        meter.record(hostID: "h1", watts: 0, at: .zero, awake: true)
        #expect(meter.measuredIdleWatts(of: "h1") == nil)
        #expect(meter.measuredIdleWatts.isEmpty)
        meter.record(hostID: "h1", watts: 120, at: .seconds(1), awake: true)
        meter.record(hostID: "h1", watts: 0, at: .seconds(2), awake: true)
        #expect(meter.measuredIdleWatts(of: "h1") == 120)
        // Still measured energy: the zero is a reading, only not an idle one.
        #expect(meter.report(at: .seconds(2)).hosts[0].sampleCount == 3)
    }

    @Test func hostNeverSeenAwakeUsesTheDefaultOrClaimsNoSaving() {
        var withDefault = PowerMeter(ringCapacity: 10, maximumGap: .seconds(60), defaultIdleWatts: 150)
        var withoutDefault = PowerMeter(ringCapacity: 10, maximumGap: .seconds(60))
        for second in [0, 20, 40] {
            withDefault.record(hostID: "h1", watts: 4, at: .seconds(second), awake: false)
            withoutDefault.record(hostID: "h1", watts: 4, at: .seconds(second), awake: false)
        }
        #expect(Self.close(withDefault.report(at: .seconds(40)).alwaysOnKWh, Self.kWh(watts: 150, seconds: 40)))
        let plain = withoutDefault.report(at: .seconds(40))
        #expect(plain.alwaysOnKWh == plain.energyKWh)
        #expect(plain.savedKWh == 0)
    }

    @Test func aHostAsleepSinceAnEarlierRunIsEstimatedAtWhatThatRunMeasured() {
        var meter = PowerMeter(ringCapacity: 10, maximumGap: .seconds(60), defaultIdleWatts: 150)
        meter.remember(idleWatts: 90, of: "h1")
        meter.remember(idleWatts: .nan, of: "h2")
        meter.remember(idleWatts: -1, of: "h2")
        for second in [0, 20, 40] {
            meter.record(hostID: "h1", watts: 4, at: .seconds(second), awake: false)
            meter.record(hostID: "h2", watts: 4, at: .seconds(second), awake: false)
        }
        let report = meter.report(at: .seconds(40))
        // The remembered 90 W, not the default 150 W; invalid values leave the default.
        #expect(Self.close(report.hosts[0].alwaysOnKWh, Self.kWh(watts: 90, seconds: 40)))
        #expect(Self.close(report.hosts[1].alwaysOnKWh, Self.kWh(watts: 150, seconds: 40)))
        #expect(meter.idleWatts(of: "h1") == 90)
        // Only this run's readings are "measured": nothing to record yet.
        #expect(meter.measuredIdleWatts.isEmpty)
        #expect(meter.measuredIdleWatts(of: "h1") == nil)

        // Read awake in this run: its own mean replaces what was remembered.
        meter.record(hostID: "h1", watts: 120, at: .seconds(60), awake: true)
        meter.record(hostID: "h1", watts: 4, at: .seconds(80), awake: false)
        meter.record(hostID: "h1", watts: 4, at: .seconds(100), awake: false)
        #expect(meter.idleWatts(of: "h1") == 120)
        #expect(meter.measuredIdleWatts == ["h1": 120])
    }

    @Test func aRememberedHostWithoutReadingsIsNotReported() {
        var meter = PowerMeter(ringCapacity: 10, maximumGap: .seconds(60))
        meter.remember(idleWatts: 90, of: "h1")
        #expect(meter.report(at: .seconds(10)).hosts.isEmpty)
        #expect(meter.idleWatts(of: "h1") == 90)
    }

    @Test func clusterTotalsSumTheHosts() {
        var meter = PowerMeter(ringCapacity: 10, maximumGap: .seconds(60), defaultIdleWatts: 100)
        for second in stride(from: 0, through: 3600, by: 36) {
            meter.record(hostID: "b", watts: 100, at: .seconds(second), awake: true)
            meter.record(hostID: "a", watts: 10, at: .seconds(second), awake: false)
        }
        let report = meter.report(at: .seconds(3600))
        #expect(report.hosts.map(\.hostID) == ["a", "b"])
        #expect(Self.close(report.energyKWh, 0.1 + 0.01))
        #expect(Self.close(report.alwaysOnKWh, 0.1 + 0.1))
        #expect(Self.close(report.savedKWh, 0.09))
        #expect(Self.close(report.savedPercent, 45))
    }

    @Test func ringWrapKeepsTheRunningMean() {
        var meter = PowerMeter(ringCapacity: 3, maximumGap: .seconds(60))
        // Ten awake readings 10, 20, ..., 100 W (mean 55 W); the ring keeps only the last three.
        for index in 1...10 {
            meter.record(hostID: "h1", watts: Double(index * 10), at: .seconds(index * 10), awake: true)
        }
        #expect(meter.samples(of: "h1").map(\.watts) == [80, 90, 100])
        #expect(meter.idleWatts(of: "h1") == 55)
        meter.record(hostID: "h1", watts: 5, at: .seconds(110), awake: false)
        meter.record(hostID: "h1", watts: 5, at: .seconds(120), awake: false)
        let row = meter.report(at: .seconds(120)).hosts[0]
        #expect(row.sampleCount == 12)
        let awakeJoules = Self.awakeTrapezoids()
        #expect(Self.close(row.alwaysOnKWh, (awakeJoules + 55 * 20) / 3_600_000))
    }

    /// 10 s trapezoids between 10, 20, ..., 100 W.
    static func awakeTrapezoids() -> Double {
        var joules = 0.0
        for index in 1..<10 {
            let watts = Double(index * 10 + (index + 1) * 10) / 2
            joules += watts * 10
        }
        return joules
    }

    @Test func outOfOrderDuplicateAndInvalidReadingsAreIgnored() {
        var meter = PowerMeter(ringCapacity: 10, maximumGap: .seconds(60))
        var accepted: [Bool] = []
        accepted.append(meter.record(hostID: "h1", watts: 100, at: .seconds(10), awake: true))
        accepted.append(meter.record(hostID: "h1", watts: 100, at: .seconds(20), awake: true))
        // A duplicate, an older reading, and readings that are not a power.
        accepted.append(meter.record(hostID: "h1", watts: 900, at: .seconds(20), awake: true))
        accepted.append(meter.record(hostID: "h1", watts: 900, at: .seconds(15), awake: true))
        accepted.append(meter.record(hostID: "h1", watts: .nan, at: .seconds(30), awake: true))
        accepted.append(meter.record(hostID: "h1", watts: -1, at: .seconds(30), awake: true))
        accepted.append(meter.record(hostID: "h2", watts: .infinity, at: .seconds(30), awake: true))
        #expect(accepted == [true, true, false, false, false, false, false])
        #expect(meter.samples(of: "h1").map(\.time) == [.seconds(10), .seconds(20)])
        let report = meter.report(at: .seconds(30))
        #expect(report.hosts.map(\.hostID) == ["h1"])
        #expect(report.hosts[0].sampleCount == 2)
        #expect(Self.close(report.energyKWh, Self.kWh(watts: 100, seconds: 10)))
        #expect(meter.idleWatts(of: "h1") == 100)
    }

    @Test func forgetRemovesAHost() {
        var meter = PowerMeter(ringCapacity: 10, maximumGap: .seconds(60))
        meter.record(hostID: "h1", watts: 100, at: .zero, awake: true)
        meter.record(hostID: "h2", watts: 50, at: .zero, awake: true)
        meter.forget(hostID: "h1")
        #expect(meter.report(at: .zero).hosts.map(\.hostID) == ["h2"])
        #expect(meter.samples(of: "h1").isEmpty)
        #expect(meter.idleWatts(of: "h1") == nil)
        // A host that comes back starts afresh.
        meter.record(hostID: "h1", watts: 100, at: .seconds(5), awake: true)
        #expect(meter.report(at: .seconds(5)).hosts.first?.sampleCount == 1)
    }
}
