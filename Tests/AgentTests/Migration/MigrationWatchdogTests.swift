import ConfigFile
import Testing

@testable import Agent

/// Event → action tables for the watchdog; no I/O, no clock but the durations in the events.
@Suite struct MigrationWatchdogTests {
    typealias Watchdog = MigrationWatchdog
    static let gib: UInt64 = 1 << 30
    static let mib: UInt64 = 1 << 20

    /// Small numbers so the tables stay readable: 100 s per GiB, 30 s progress timeout, 3 stalled passes,
    /// 10 s between steps.
    static func configuration(
        allowPostCopy: Bool = false,
        steps: [MigrationWatchdogConfiguration.Step] = [.raiseDowntime, .raiseBandwidth, .postCopy, .pause, .abort]
    ) -> MigrationWatchdogConfiguration {
        var configuration = MigrationWatchdogConfiguration()
        configuration.completionTimeoutPerGiB = .seconds(100)
        configuration.progressTimeout = .seconds(30)
        configuration.stallIterations = 3
        configuration.stepInterval = .seconds(10)
        configuration.allowPostCopy = allowPostCopy
        configuration.steps = steps
        return configuration
    }

    static func progress(_ remainingMiB: UInt64, iteration: UInt64? = nil, at seconds: Int64) -> Watchdog.Event {
        .progress(.init(remainingBytes: remainingMiB * mib, iteration: iteration), at: .seconds(seconds))
    }

    /// Runs `events` and returns the actions of each.
    static func run(_ watchdog: inout Watchdog, _ events: [Watchdog.Event]) -> [[Watchdog.Action]] {
        events.map { watchdog.handle($0) }
    }

    @Test func theDefaultsAreKubeVirts() {
        let defaults = MigrationWatchdogConfiguration()
        #expect(defaults.completionTimeoutPerGiB == .seconds(800))
        #expect(defaults.progressTimeout == .seconds(150))
        #expect(defaults.steps.last == .abort)
        #expect(!defaults.effectiveSteps.contains(.postCopy))
    }

    @Test(arguments: [
        (gib, Duration.seconds(100)),
        (gib / 2, .seconds(50)),
        (4 * gib, .seconds(400)),
        (64 * mib, .milliseconds(6_250)),
    ])
    func theDeadlineScalesWithTheBytesToCopy(bytes: UInt64, deadline: Duration) {
        #expect(Watchdog(configuration: Self.configuration(), bytesToCopy: bytes).deadline == deadline)
    }

    @Test func aJobReportingMoreBytesThanMemoryMovesTheDeadline() {
        var watchdog = Watchdog(configuration: Self.configuration(), bytesToCopy: Self.gib)
        _ = watchdog.handle(.progress(.init(totalBytes: 3 * Self.gib), at: .seconds(1)))
        #expect(watchdog.deadline == .seconds(300))
        _ = watchdog.handle(.progress(.init(totalBytes: Self.gib), at: .seconds(2)))
        #expect(watchdog.deadline == .seconds(300))
    }

    @Test func aConvergingMigrationIsLeftAlone() {
        var watchdog = Watchdog(configuration: Self.configuration(), bytesToCopy: Self.gib)
        let actions = Self.run(
            &watchdog,
            [
                Self.progress(1000, iteration: 1, at: 1),
                Self.progress(600, iteration: 1, at: 20),
                Self.progress(300, iteration: 2, at: 40),
                .tick(at: .seconds(60)),
                Self.progress(100, iteration: 3, at: 80),
                .finished(.completed, at: .seconds(90)),
            ]
        )
        #expect(actions.allSatisfy { $0.isEmpty })
        #expect(watchdog.records.isEmpty)
        #expect(watchdog.phase == .finished(.completed))
    }

    /// Each row: events, and the actions expected after each event (empty arrays omitted as []).
    static let escalationTable: [(String, MigrationWatchdogConfiguration, [Watchdog.Event], [[Watchdog.Action]])] = [
        (
            "no progress for progressTimeout escalates, then one step per stepInterval, abort last",
            configuration(),
            [
                progress(500, at: 1),
                progress(500, at: 30),  // 29 s without shrinking: not yet
                progress(500, at: 31),  // 30 s: first step
                .tick(at: .seconds(35)),  // within stepInterval and not stalled again: nothing
                .tick(at: .seconds(61)),  // 30 s without progress since the step
                .tick(at: .seconds(91)),
                .tick(at: .seconds(121)),
                .tick(at: .seconds(200)),  // aborting: nothing more
                .finished(.failed, at: .seconds(201)),
            ],
            [
                [], [], [.take(.raiseDowntime)], [], [.take(.raiseBandwidth)], [.take(.pause)], [.take(.abort)], [],
                [.resume(.source)],
            ]
        ),
        (
            "remaining bytes not shrinking over stallIterations passes escalates before the progress timeout",
            configuration(),
            [
                progress(500, iteration: 1, at: 1),
                progress(520, iteration: 2, at: 2),
                progress(510, iteration: 3, at: 3),
                progress(505, iteration: 4, at: 4),  // 3 passes since the last shrink
                progress(505, iteration: 5, at: 5),  // within stepInterval
                progress(400, iteration: 8, at: 15),  // shrank: progress again
            ],
            [[], [], [], [.take(.raiseDowntime)], [], []]
        ),
        (
            "past the deadline every stepInterval brings the next step even while bytes shrink",
            configuration(),
            [
                progress(900, at: 99),
                progress(800, at: 100),  // deadline of 1 GiB at 100 s/GiB
                progress(700, at: 105),
                progress(600, at: 110),
                progress(500, at: 120),
                .finished(.completed, at: .seconds(125)),
            ],
            [[], [.take(.raiseDowntime)], [], [.take(.raiseBandwidth)], [.take(.pause)], [.resume(.destination)]]
        ),
        (
            "post-copy where permitted: the guest runs on the destination, no pause or abort after it",
            configuration(allowPostCopy: true),
            [
                progress(500, at: 100),
                .tick(at: .seconds(110)),
                .tick(at: .seconds(120)),
                .tick(at: .seconds(130)),
                .cancel(at: .seconds(131)),
                .finished(.completed, at: .seconds(140)),
            ],
            [[.take(.raiseDowntime)], [.take(.raiseBandwidth)], [.take(.postCopy)], [], [], []]
        ),
        (
            "a paused guest whose migration then fails is resumed on the source",
            configuration(steps: [.pause, .abort]),
            [
                progress(500, at: 100),
                .finished(.failed, at: .seconds(101)),
                .tick(at: .seconds(200)),
            ],
            [[.take(.pause)], [.resume(.source)], []]
        ),
        (
            "a cancel aborts at once and resumes a paused guest on the source",
            configuration(steps: [.pause, .abort]),
            [
                progress(500, at: 100),
                .cancel(at: .seconds(101)),
                .cancel(at: .seconds(102)),
                .finished(.failed, at: .seconds(103)),
            ],
            [[.take(.pause)], [.take(.abort)], [], [.resume(.source)]]
        ),
        (
            "a pause that failed (it raced the completion) is not resumed",
            configuration(steps: [.pause, .abort]),
            [
                progress(500, at: 100),
                .stepFailed(.pause, at: .seconds(100)),
                .finished(.completed, at: .seconds(101)),
            ],
            [[.take(.pause)], [], []]
        ),
        (
            "a failed abort leaves the migration watched, with no step left",
            configuration(steps: [.abort]),
            [
                progress(500, at: 100),
                .stepFailed(.abort, at: .seconds(100)),
                .cancel(at: .seconds(101)),
                .finished(.completed, at: .seconds(120)),
            ],
            [[.take(.abort)], [], [.take(.abort)], []]
        ),
        (
            "abort may be the only step",
            configuration(steps: [.abort]),
            [progress(500, at: 1), .tick(at: .seconds(31)), .finished(.failed, at: .seconds(32))],
            [[], [.take(.abort)], []]
        ),
        (
            "an abort that races a completion leaves the guest on the destination, resumed if paused",
            configuration(steps: [.pause, .abort]),
            [
                progress(500, at: 100),
                .tick(at: .seconds(110)),
                .finished(.completed, at: .seconds(111)),
                .finished(.failed, at: .seconds(112)),
            ],
            [[.take(.pause)], [.take(.abort)], [.resume(.destination)], []]
        ),
    ]

    @Test(arguments: escalationTable)
    func escalation(
        name: String,
        configuration: MigrationWatchdogConfiguration,
        events: [Watchdog.Event],
        expected: [[Watchdog.Action]]
    ) {
        var watchdog = Watchdog(configuration: configuration, bytesToCopy: Self.gib)
        let actions = Self.run(&watchdog, events)
        #expect(actions == expected, "\(name)")
        // Whatever happened, nothing stays paused once the migration has finished.
        if case .finished = watchdog.phase {
            #expect(!watchdog.pausedGuest, "\(name)")
        }
    }

    @Test func recordsListEveryStepAndResumeWithItsTime() {
        var watchdog = Watchdog(configuration: Self.configuration(steps: [.pause, .abort]), bytesToCopy: Self.gib)
        _ = Self.run(
            &watchdog,
            [Self.progress(1, at: 100), .tick(at: .seconds(110)), .finished(.failed, at: .seconds(112))]
        )
        #expect(
            watchdog.records == [
                .step(.pause, at: .seconds(100)), .step(.abort, at: .seconds(110)),
                .resumed(.source, at: .seconds(112)),
            ]
        )
        #expect(watchdog.stepsTaken == [.pause, .abort])
    }

    // MARK: Configuration

    static func load(_ yaml: String) throws -> MigrationWatchdogConfiguration {
        try AgentConfiguration.load(yaml: yaml, file: "agent.yaml").migration
    }

    @Test func theMigrationSectionIsRead() throws {
        let configuration = try Self.load(
            """
            migration:
              completion_timeout_per_gib: 400s
              progress_timeout: 1m
              stall_iterations: 7
              step_interval: 5s
              sample_interval: 500ms
              raised_downtime_ms: 1500
              raised_bandwidth_mib: 256
              initial_bandwidth_mib: 1
              auto_converge: false
              allow_post_copy: true
              steps: [pause, post_copy, abort]
            """
        )
        var expected = MigrationWatchdogConfiguration()
        expected.completionTimeoutPerGiB = .seconds(400)
        expected.progressTimeout = .seconds(60)
        expected.stallIterations = 7
        expected.stepInterval = .seconds(5)
        expected.sampleInterval = .milliseconds(500)
        expected.raisedDowntimeMilliseconds = 1_500
        expected.raisedBandwidthMiBPerSecond = 256
        expected.initialBandwidthMiBPerSecond = 1
        expected.autoConverge = false
        expected.allowPostCopy = true
        expected.steps = [.pause, .postCopy, .abort]
        #expect(configuration == expected)
        #expect(try Self.load("hostname: h\n") == MigrationWatchdogConfiguration())
    }

    @Test(arguments: [
        ("migration:\n  steps: [pause]\n", "migration.steps", 2, "the last step must be abort"),
        ("migration:\n  steps: [abort, pause, abort]\n", "migration.steps", 2, "'abort' is listed twice"),
        ("migration:\n  steps: [jump, abort]\n", "migration.steps", 2, "'jump' is not one of"),
        ("hostname: h\nmigration:\n  stall_iterations: 0\n", "migration.stall_iterations", 3, "outside"),
        ("migration:\n  progress_timeout: soon\n", "migration.progress_timeout", 2, "expected a duration"),
        ("migration:\n  allow_postcopy: true\n", "migration.allow_postcopy", 2, "did you mean 'allow_post_copy'"),
    ])
    func badMigrationKeysAreRejectedNamingKeyAndLine(yaml: String, key: String, line: Int, problem: String) {
        do {
            _ = try Self.load(yaml)
            Issue.record("accepted \(yaml)")
        } catch let error as ConfigError {
            #expect(error.key == key)
            #expect(error.line == line)
            #expect(error.problem.contains(problem), "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
