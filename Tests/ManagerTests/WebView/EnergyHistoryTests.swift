import Foundation
import Testing
import Wire

@testable import Manager

/// The web view's energy history: a bounded ring, oldest first, and the sample `torpor energy`'s reply gives.
@Suite struct EnergyHistoryTests {
    static func sample(_ time: Int64) -> EnergySample {
        EnergySample(time: time, watts: Double(time), hostsAwake: 1, hosts: 2, savedShare: nil)
    }

    @Test(arguments: [
        // (capacity, samples appended, times held afterwards, oldest first)
        (3, 0, [Int64]()),
        (3, 2, [1, 2]),
        (3, 3, [1, 2, 3]),
        (3, 4, [2, 3, 4]),
        (3, 7, [5, 6, 7]),
        (1, 5, [5]),
        (4, 9, [6, 7, 8, 9]),
    ])
    func theRingKeepsTheNewestSamplesOldestFirst(capacity: Int, appended: Int, held: [Int64]) {
        var history = EnergyHistory(capacity: capacity)
        for index in 0..<appended { history.append(Self.sample(Int64(index + 1))) }
        #expect(history.samples.map(\.time) == held)
        #expect(history.count == held.count)
        #expect(history.count <= capacity)
    }

    @Test func samplesAfterATimeAreOnlyTheNewerOnes() {
        var history = EnergyHistory(capacity: 5)
        for time in Int64(1)...8 { history.append(Self.sample(time * 1000)) }
        #expect(history.samples(after: 5000).map(\.time) == [6000, 7000, 8000])
        #expect(history.samples(after: 0).map(\.time) == [4000, 5000, 6000, 7000, 8000])
        #expect(history.samples(after: 8000).isEmpty)
    }

    @Test func theRecorderSharesTheRingAndItsInterval() {
        let recorder = EnergyHistoryRecorder(capacity: 2, interval: .seconds(5))
        for time in Int64(1)...3 { recorder.record(Self.sample(time)) }
        #expect(recorder.samples().map(\.time) == [2, 3])
        #expect(recorder.samples(after: 2).map(\.time) == [3])
        #expect(recorder.capacity == 2)
        #expect(recorder.interval == .seconds(5))
    }

    @Test func aSampleSumsWattsCountsAwakeHostsAndSharesTheEnergySaved() {
        let reply = EnergyReply(
            millisecondsMeasured: 60_000,
            hosts: [
                .init(hostID: "h1", state: .active, millisecondsInState: 1, watts: 150, usedKilowattHours: 3,
                    alwaysOnKilowattHours: 3),
                .init(hostID: "h2", state: .sleeping, millisecondsInState: 1, watts: 8, usedKilowattHours: 1,
                    alwaysOnKilowattHours: 3),
                .init(hostID: "h3", state: .waking, millisecondsInState: 1, watts: nil, usedKilowattHours: 0,
                    alwaysOnKilowattHours: 2),
            ]
        )
        let sample = EnergySample(at: Date(timeIntervalSince1970: 1_700_000_000.25), energy: reply)
        #expect(sample.time == 1_700_000_000_250)
        #expect(sample.watts == 158)
        #expect(sample.hostsAwake == 1)
        #expect(sample.hosts == 3)
        // Used 4 of an always-on 8 kWh: half saved.
        #expect(sample.savedShare == 0.5)
    }

    @Test func nothingMeasuredYetHasNoSavedShare() throws {
        let reply = EnergyReply(
            millisecondsMeasured: 0,
            hosts: [
                .init(hostID: "h1", state: .active, millisecondsInState: 1, usedKilowattHours: 0, alwaysOnKilowattHours: 0)
            ]
        )
        let sample = EnergySample(at: Date(timeIntervalSince1970: 0), energy: reply)
        #expect(sample.savedShare == nil)
        #expect(sample.watts == 0)
        // Absent from the JSON, not null or NaN.
        let json = String(decoding: try JSONEncoder().encode(sample), as: UTF8.self)
        #expect(!json.contains("savedShare"), "\(json)")
    }
}
