import Foundation
import Placement
import Testing

@testable import Manager

/// Snooze's `errorCode` and `usedCapacity` on a VM's metadata: from the task at hand and the host's monitoring.
struct SnoozeErrorCodeAndUsageTests {
    @Test(arguments: [
        ("start", StoredTask.Outcome.State.done, "started on h1", SnoozeErrorCode.unknown),
        ("start", .done, "already running", .alreadyRunning),
        ("start", .unplaced, "no host has 8 cores free", .notEnoughLocalControllerCapacity),
        ("start", .failed, "h2 did not wake within 5m", .localControllerWakeupFailed),
        ("start", .failed, "libvirt: domain failed to start", .unableToStartOnLocalController),
        ("suspend", .failed, "not running", .unableToStartOnLocalController),
        ("suspend", .done, "already suspended", .unknown),
        ("start", .pending, "", .unknown),
        ("start", .inProgress, "", .unknown),
    ])
    func outcomesAreSnoozeCodes(
        _ kind: String, _ state: StoredTask.Outcome.State, _ message: String, _ code: SnoozeErrorCode
    ) {
        #expect(SnoozeErrorCode.of(StoredTask.Outcome(vm: "vm", state: state, hostID: "h1", message: message), taskKind: kind) == code)
    }

    @Test(arguments: StoredVM.State.allCases)
    func statesWithoutATaskAreUnknownUnlessFailed(_ state: StoredVM.State) {
        #expect(SnoozeErrorCode.of(state) == (state == .failed ? .unableToStartOnLocalController : .unknown))
    }

    @Test func usedCapacityIsAMeasuredEstimateStampedNowInSnoozesUnits() {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let measured = VMEstimate(
            hostID: "h1",
            estimated: ResourceVector(
                cpuCores: 1.5, memoryBytes: 2_048_000, networkRxBytesPerSecond: 10_240, networkTxBytesPerSecond: 5_120
            ),
            samples: 5
        )
        #expect(SnoozeDescriber.usedCapacity(measured, at: now) == ["1700000000000": [1.5, 2_000, 10, 5]])
        var unmeasured = measured
        unmeasured.samples = 0
        #expect(SnoozeDescriber.usedCapacity(unmeasured, at: now).isEmpty)
        #expect(SnoozeDescriber.usedCapacity(nil, at: now).isEmpty)
    }

    @Test func manyEstimatesAtOnceAreEachVMsOwn() async throws {
        let registry = await EstimatesTests.registry(estimator: Estimator(window: 5), rounds: 20)
        let requested = ResourceVector(cpuCores: 2, memoryBytes: Double(2 << 30))
        let ids = ["\(EstimatesTests.web)".lowercased(), "\(EstimatesTests.db)".lowercased(), "\(EstimatesTests.idle)".lowercased(), "00000000-0000-0000-0000-000000000000"]
        let all = await registry.estimates(of: Dictionary(uniqueKeysWithValues: ids.map { ($0, requested) }))
        for id in ids {
            #expect(all[id] == (await registry.estimate(of: id, requested: requested)), "\(id)")
        }
        #expect(all.count == 3 - (await registry.estimate(of: ids[2], requested: requested) == nil ? 1 : 0))
    }
}
