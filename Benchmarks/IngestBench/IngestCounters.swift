import Foundation
import Synchronization

/// Counts what the server side processed: reports in the rings, and those later than one interval after they
/// were sampled (the agent stamps each report with its wall-clock time; both sides run on one machine).
public final class IngestCounters: Sendable {
    public struct Snapshot: Sendable, Equatable {
        public var processed = 0
        public var late = 0
        public var maximumLatenessMilliseconds: Int64 = 0
    }

    private let state = Mutex(Snapshot())
    private let interval: Int64

    public init(intervalMilliseconds: Int64 = 1000) {
        interval = intervalMilliseconds
    }

    /// Records one report sampled at `sampledMilliseconds` (Unix epoch) as processed now.
    public func processed(sampledMilliseconds: Int64) {
        let lateness = Int64(Date().timeIntervalSince1970 * 1000) - sampledMilliseconds
        state.withLock { counts in
            counts.processed += 1
            if lateness > interval { counts.late += 1 }
            counts.maximumLatenessMilliseconds = max(counts.maximumLatenessMilliseconds, lateness)
        }
    }

    public var snapshot: Snapshot { state.withLock { $0 } }
}

/// Counts what the simulated agents sent, and sends that went out late; once stopped, the agents send no more.
public final class SendCounters: Sendable {
    private let state = Mutex((sent: 0, behind: 0))
    private let stopped = Mutex(false)

    public init() {}

    public var isStopped: Bool { stopped.withLock { $0 } }

    public func stop() {
        stopped.withLock { $0 = true }
    }

    public func sent(behind: Bool) {
        state.withLock {
            $0.sent += 1
            if behind { $0.behind += 1 }
        }
    }

    public var snapshot: (sent: Int, behind: Int) { state.withLock { $0 } }
}
