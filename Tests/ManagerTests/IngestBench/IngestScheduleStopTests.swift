import Synchronization
import Testing

@testable import IngestBench

/// The group-manager rows stop the agents after the window and compare every report sent with every report the
/// server received: once stopped, the schedule must send nothing more, or the comparison would count sends the
/// server could not have seen yet.
struct IngestScheduleStopTests {
    @Test func stoppedSendersEndAndSendNothingMore() async throws {
        let counters = SendCounters()
        let calls = Mutex(0)
        let schedule = Task {
            try await IngestSchedule.run(count: 40, counters: counters) { _, _ in
                calls.withLock { $0 += 1 }
            }
        }
        // The first round: 40 sends spread over a second, after a 200 ms start.
        while counters.snapshot.sent < 10 { try await Task.sleep(for: .milliseconds(20)) }
        counters.stop()
        // Ends without being cancelled: every sender returns at its next send.
        try await schedule.value
        let sentAtEnd = counters.snapshot.sent
        #expect(sentAtEnd >= 10)
        #expect(calls.withLock { $0 } == sentAtEnd)
        try await Task.sleep(for: .milliseconds(300))
        #expect(counters.snapshot.sent == sentAtEnd)
    }

    @Test func aStopBeforeTheFirstSendSendsNothing() async throws {
        let counters = SendCounters()
        counters.stop()
        try await IngestSchedule.run(count: 5, counters: counters) { _, _ in }
        #expect(counters.snapshot.sent == 0)
        #expect(counters.isStopped)
    }
}
