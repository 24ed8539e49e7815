/// Decides what to do about a running migration from its progress samples and the clock; does no I/O.
///
/// It escalates when the migration is late (past a deadline scaled by the bytes to copy) or stalled (remaining
/// bytes not shrinking for `progressTimeout`, or over `stallIterations` pre-copy passes), one configured step at a
/// time with `stepInterval` between steps, `abort` last. Whatever the end, a guest it paused is resumed where the
/// guest ended up, so the VM always runs exactly once and not paused.
public struct MigrationWatchdog: Sendable {
    public typealias Step = MigrationWatchdogConfiguration.Step

    /// What the job reported; nil fields were not reported.
    public struct Sample: Sendable, Equatable {
        public var totalBytes: UInt64?
        public var remainingBytes: UInt64?
        public var iteration: UInt64?

        public init(totalBytes: UInt64? = nil, remainingBytes: UInt64? = nil, iteration: UInt64? = nil) {
            self.totalBytes = totalBytes
            self.remainingBytes = remainingBytes
            self.iteration = iteration
        }
    }

    public enum Host: Sendable, Equatable {
        case source
        case destination
    }

    /// How the migration call returned.
    public enum End: Sendable, Equatable {
        /// The guest runs on the destination.
        case completed
        /// libvirt failed or aborted it: the guest runs on the source.
        case failed
    }

    /// Times are durations since the migration started, from the runner's clock.
    public enum Event: Sendable, Equatable {
        case progress(Sample, at: Duration)
        case tick(at: Duration)
        /// Someone asked to cancel (MigrationCancel).
        case cancel(at: Duration)
        /// Carrying out a step failed (e.g. the pause raced the migration's completion): it had no effect.
        case stepFailed(Step, at: Duration)
        case finished(End, at: Duration)
    }

    public enum Action: Sendable, Equatable {
        /// Apply this escalation to the running job.
        case take(Step)
        /// Resume the guest the watchdog paused, on this host.
        case resume(Host)
    }

    /// Everything done to the migration, with its time, for the outcome.
    public enum Record: Sendable, Equatable {
        case step(Step, at: Duration)
        case stepFailed(Step, at: Duration)
        case resumed(Host, at: Duration)
    }

    public enum Phase: Sendable, Equatable {
        case running
        /// Switched to post-copy: the guest runs on the destination; the migration can only complete now.
        case postCopy
        case aborting
        case finished(End)
    }

    public let configuration: MigrationWatchdogConfiguration
    public private(set) var phase: Phase = .running
    /// The deadline since the start; grows when the job reports more bytes than memory (copied disks).
    public private(set) var deadline: Duration
    public private(set) var records: [Record] = []
    /// True while the guest sits paused by the `pause` step.
    public private(set) var pausedGuest = false

    private let steps: [Step]
    private var nextStep = 0
    private var lastStepAt: Duration?
    private var lowestRemaining: UInt64?
    private var lastProgressAt: Duration = .zero
    private var iterationAtLastProgress: UInt64?
    private var latestIteration: UInt64?

    /// The command's own timeout, which caps the deadline however many bytes there are.
    public let timeout: Duration?

    /// `bytesToCopy`: the guest's memory plus any disk the method copies.
    public init(configuration: MigrationWatchdogConfiguration, bytesToCopy: UInt64, timeout: Duration? = nil) {
        self.configuration = configuration
        self.steps = configuration.effectiveSteps
        self.timeout = timeout
        let scaled = Self.deadline(for: bytesToCopy, perGiB: configuration.completionTimeoutPerGiB)
        self.deadline = timeout.map { min($0, scaled) } ?? scaled
    }

    static func deadline(for bytes: UInt64, perGiB: Duration) -> Duration {
        perGiB * (Double(max(bytes, 1)) / Double(1 << 30))
    }

    /// The steps taken so far, in order.
    public var stepsTaken: [Step] {
        records.compactMap { if case .step(let step, _) = $0 { step } else { nil } }
    }

    public mutating func handle(_ event: Event) -> [Action] {
        switch event {
        case .progress(let sample, let now):
            guard phase == .running else { return [] }
            observe(sample, at: now)
            return escalateIfDue(at: now)
        case .tick(let now):
            guard phase == .running else { return [] }
            return escalateIfDue(at: now)
        case .cancel(let now):
            // Post-copy cannot be undone: the guest already runs on the destination.
            guard phase == .running else { return [] }
            return take(.abort, at: now)
        case .stepFailed(let step, let now):
            records.append(.stepFailed(step, at: now))
            switch step {
            case .pause: pausedGuest = false
            // Still pre-copy (or still running): later steps remain possible.
            case .postCopy, .abort: if phase == .postCopy || phase == .aborting { phase = .running }
            case .raiseDowntime, .raiseBandwidth: break
            }
            return []
        case .finished(let end, let now):
            if case .finished = phase { return [] }
            phase = .finished(end)
            guard pausedGuest else { return [] }
            pausedGuest = false
            let host: Host = end == .completed ? .destination : .source
            records.append(.resumed(host, at: now))
            return [.resume(host)]
        }
    }

    private mutating func observe(_ sample: Sample, at now: Duration) {
        if let total = sample.totalBytes {
            let scaled = max(deadline, Self.deadline(for: total, perGiB: configuration.completionTimeoutPerGiB))
            deadline = timeout.map { min($0, scaled) } ?? scaled
        }
        if let iteration = sample.iteration {
            latestIteration = iteration
            if iterationAtLastProgress == nil { iterationAtLastProgress = iteration }
        }
        if let remaining = sample.remainingBytes, lowestRemaining.map({ remaining < $0 }) ?? true {
            lowestRemaining = remaining
            restartStallClocks(at: now)
        }
    }

    private mutating func restartStallClocks(at now: Duration) {
        lastProgressAt = now
        iterationAtLastProgress = latestIteration
    }

    /// Why the migration needs help now, or nil.
    private func reasonToEscalate(at now: Duration) -> Bool {
        if now >= deadline { return true }
        if now - lastProgressAt >= configuration.progressTimeout { return true }
        if let latest = latestIteration, let since = iterationAtLastProgress,
            latest >= since + UInt64(configuration.stallIterations)
        {
            return true
        }
        return false
    }

    private mutating func escalateIfDue(at now: Duration) -> [Action] {
        guard reasonToEscalate(at: now) else { return [] }
        if let lastStepAt, now - lastStepAt < configuration.stepInterval { return [] }
        guard nextStep < steps.count else { return [] }
        let step = steps[nextStep]
        return take(step, at: now)
    }

    private mutating func take(_ step: Step, at now: Duration) -> [Action] {
        if let index = steps.firstIndex(of: step) { nextStep = max(nextStep, index + 1) }
        lastStepAt = now
        records.append(.step(step, at: now))
        // A step gets a fair chance: progress is measured again from now.
        restartStallClocks(at: now)
        switch step {
        case .pause: pausedGuest = true
        case .postCopy: phase = .postCopy
        case .abort: phase = .aborting
        case .raiseDowntime, .raiseBandwidth: break
        }
        return [.take(step)]
    }
}
