import Synchronization
import Wire

/// Takes agents' monitoring reports and heartbeat pushes where they are decoded, on their connections' event
/// loops, and hands them to the registry in batches: a hop to the registry for all that arrived within
/// `coalescing`, instead of waking each connection's task and hopping once per message when ten thousand agents
/// report every second.
final class ReportIntake: Sendable {
    /// One report (or a heartbeat: no report) from the agent on connection `connectionID` of `hostID`.
    struct Arrival: Sendable {
        let hostID: String
        let connectionID: UInt64
        let report: MonitoringReport?
        let at: ContinuousClock.Instant
    }

    private struct Queue {
        var arrivals: [Arrival] = []
        /// A task is handing arrivals to the registry; it goes on until a `coalescing` wait brings none.
        var draining = false
    }

    private let registry: HostRegistry
    private let coalescing: Duration
    private let capacity: Int
    /// Told of each report once it is in the host's ring.
    private let recorded: (@Sendable (MonitoringReport, _ hostID: String) -> Void)?
    private let queue = Mutex(Queue())

    /// The default wait before a batch goes to the registry: a report is one second's sample, so 20 ms more cost
    /// nothing, and one wake-up takes in every report of those milliseconds (each wait costs a timer and two
    /// thread wake-ups, which showed in a profile at 5 ms).
    static let defaultCoalescing: Duration = .milliseconds(20)
    /// How many arrivals may wait by default: five seconds of 10,000 agents' reports, about 50 MB.
    static let defaultCapacity = 50_000

    init(
        registry: HostRegistry,
        coalescing: Duration = ReportIntake.defaultCoalescing,
        capacity: Int = ReportIntake.defaultCapacity,
        recorded: (@Sendable (MonitoringReport, _ hostID: String) -> Void)?
    ) {
        self.registry = registry
        self.coalescing = coalescing
        self.capacity = capacity
        self.recorded = recorded
    }

    /// Queues `arrival`; never blocks, so it may run on an event loop. False, queuing nothing, when `capacity`
    /// arrivals are already waiting (the registry is held up, or agents send faster than it takes them in): the
    /// caller then hands the message to its connection's session, whose inbound buffer stops reading the socket
    /// when full, so a flood is held back by TCP instead of growing here.
    func take(_ arrival: Arrival) -> Bool {
        enum Outcome { case full, queued, queuedFirst }
        let outcome = queue.withLock { queue -> Outcome in
            guard queue.arrivals.count < capacity else { return .full }
            queue.arrivals.append(arrival)
            guard !queue.draining else { return .queued }
            queue.draining = true
            return .queuedFirst
        }
        guard outcome == .queuedFirst else { return outcome != .full }
        // Detached: the drain serves every connection, so it takes nothing (priority, executor preference) from
        // whichever caller happened to start it.
        Task.detached { await self.drain() }
        return true
    }

    private func drain() async {
        while true {
            try? await Task.sleep(for: coalescing)
            let batch = queue.withLock { queue in
                let batch = queue.arrivals
                queue.arrivals.removeAll(keepingCapacity: true)
                if batch.isEmpty { queue.draining = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            await registry.record(batch)
            guard let recorded else { continue }
            for arrival in batch {
                if let report = arrival.report { recorded(report, arrival.hostID) }
            }
        }
    }
}
