import ConfigFile

/// How the agent runs and watches a migration: the `migration:` section of the agent's configuration
/// (docs/agent.md). The defaults are KubeVirt's, whose users know them.
public struct MigrationWatchdogConfiguration: Sendable, Equatable {
    /// One escalation the watchdog may take, in the configured order; `abort` is always the last.
    public enum Step: String, Sendable, Hashable, CaseIterable {
        case raiseDowntime = "raise_downtime"
        case raiseBandwidth = "raise_bandwidth"
        case postCopy = "post_copy"
        case pause
        case abort
    }

    /// Time allowed per GiB of memory (plus copied disk) before the watchdog escalates (KubeVirt's
    /// `completionTimeoutPerGiB`).
    public var completionTimeoutPerGiB: Duration = .seconds(800)
    /// Time remaining bytes may go without shrinking before the watchdog escalates (KubeVirt's `progressTimeout`).
    public var progressTimeout: Duration = .seconds(150)
    /// Pre-copy passes over memory that may go by without remaining bytes shrinking before the watchdog escalates.
    public var stallIterations = 5
    /// How long a step gets to work before the next one.
    public var stepInterval: Duration = .seconds(20)
    /// How often the agent reads the job's progress and pushes it to the manager.
    public var sampleInterval: Duration = .seconds(1)
    /// Allowed pause at switch-over after `raise_downtime`.
    public var raisedDowntimeMilliseconds: UInt64 = 2_000
    /// Bandwidth after `raise_bandwidth`, MiB/s.
    public var raisedBandwidthMiBPerSecond: UInt64 = 10_240
    /// Bandwidth cap when the migration starts, MiB/s; nil leaves libvirt's (unlimited).
    public var initialBandwidthMiBPerSecond: UInt64?
    /// Starts every migration with QEMU's auto-converge (vCPU throttling when memory does not converge); libvirt
    /// accepts it only at the start, so it is a start option rather than a step.
    public var autoConverge = true
    /// Permits the `post_copy` step. Off by default: a post-copy migration that fails loses the guest.
    public var allowPostCopy = false
    public var steps: [Step] = [.raiseDowntime, .raiseBandwidth, .postCopy, .pause, .abort]

    public init() {}

    /// The steps the watchdog really takes: `post_copy` only where permitted.
    public var effectiveSteps: [Step] {
        steps.filter { $0 != .postCopy || allowPostCopy }
    }

    /// Reads the `migration:` section strictly.
    public static func load(section: ConfigSection) throws -> MigrationWatchdogConfiguration {
        var result = MigrationWatchdogConfiguration()
        if let value = try section.duration("completion_timeout_per_gib", minimum: .seconds(1)) {
            result.completionTimeoutPerGiB = value
        }
        if let value = try section.duration("progress_timeout", minimum: .seconds(1)) {
            result.progressTimeout = value
        }
        if let value = try section.int("stall_iterations", in: 1...1_000_000) { result.stallIterations = value }
        if let value = try section.duration("step_interval", minimum: .milliseconds(100)) {
            result.stepInterval = value
        }
        if let value = try section.duration("sample_interval", minimum: .milliseconds(100)) {
            result.sampleInterval = value
        }
        if let value = try section.int("raised_downtime_ms", in: 1...3_600_000) {
            result.raisedDowntimeMilliseconds = UInt64(value)
        }
        if let value = try section.int("raised_bandwidth_mib", in: 1...1_048_576) {
            result.raisedBandwidthMiBPerSecond = UInt64(value)
        }
        if let value = try section.int("initial_bandwidth_mib", in: 1...1_048_576) {
            result.initialBandwidthMiBPerSecond = UInt64(value)
        }
        if let value = try section.bool("auto_converge") { result.autoConverge = value }
        if let value = try section.bool("allow_post_copy") { result.allowPostCopy = value }
        if let names = try section.stringList("steps") {
            result.steps = try parseSteps(names, section: section)
        }
        return result
    }

    static func parseSteps(_ names: [String], section: ConfigSection) throws -> [Step] {
        let key = section.path.isEmpty ? "steps" : "\(section.path).steps"
        func fail(_ problem: String) -> ConfigError {
            ConfigError(file: section.file, line: section.line(of: "steps"), key: key, problem: problem)
        }
        let allowed = Step.allCases.map(\.rawValue).joined(separator: ", ")
        var steps: [Step] = []
        for name in names {
            guard let step = Step(rawValue: name) else { throw fail("'\(name)' is not one of \(allowed)") }
            guard !steps.contains(step) else { throw fail("'\(name)' is listed twice") }
            steps.append(step)
        }
        guard steps.last == .abort else {
            throw fail("the last step must be abort, so that every migration ends")
        }
        return steps
    }
}
