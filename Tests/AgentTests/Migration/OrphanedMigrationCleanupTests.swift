import Foundation
import Libvirt
import Logging
import TestSupport
import Testing

@testable import Agent

/// The decision tables for a migration left running by a previous agent process, and the start-up pass over a
/// driver without jobs. The abort itself needs a real migration: MigrationThroughManagerTests restarts a source
/// agent mid-migration on KVM.
@Suite struct OrphanedMigrationCleanupTests {
    typealias Decision = OrphanedMigrationDecision
    static let running = DomainStateReason(state: .running, reason: 1)
    static let pausedByUser = DomainStateReason(state: .paused, reason: 1)

    static func job(_ type: DomainJobType, _ operation: DomainJobOperation?) -> DomainJobStats {
        DomainJobStats(type: type, operation: operation, elapsedMilliseconds: 12_000)
    }

    @Test(
        "at start",
        arguments: [
            (job(.none, nil), running, Decision.none),
            (job(.unbounded, .migrationOut), running, .abort),
            (job(.bounded, .migrationOut), running, .abort),
            // Paused at switch-over (or by the old watchdog's pause step): still abortable, resumed afterwards.
            (job(.unbounded, .migrationOut), DomainStateReason.pausedByMigration, .abort),
            (job(.unbounded, .migrationOut), DomainStateReason.pausedByPostCopy, .leavePostCopy),
            // An incoming migration belongs to the source's agent; other jobs are not migrations.
            (job(.unbounded, .migrationIn), DomainStateReason.pausedByMigration, .none),
            (job(.unbounded, .dump), running, .none),
            (job(.unbounded, .backup), running, .none),
            // Without the operation field it cannot be told from an incoming one.
            (job(.unbounded, nil), running, .none),
            // Ended jobs are history, not work.
            (job(.completed, .migrationOut), running, .none),
            (job(.cancelled, .migrationOut), DomainStateReason.pausedByMigration, .none),
        ]
    )
    func atStart(job: DomainJobStats, state: DomainStateReason, expected: Decision) {
        #expect(Decision.atStart(job: job, state: state) == expected)
    }

    @Test(
        "after the abort",
        arguments: [
            (job(.unbounded, .migrationOut), running, Decision.wait),
            (job(.unbounded, .migrationOut), DomainStateReason.pausedByMigration, .wait),
            (job(.unbounded, .migrationOut), DomainStateReason.pausedByPostCopy, .leavePostCopy),
            (job(.none, nil), running, .none),
            (job(.none, nil), DomainStateReason.pausedByMigration, .resume),
            (job(.cancelled, .migrationOut), DomainStateReason.pausedByMigration, .resume),
            // Paused by someone else: not the migration's to undo.
            (job(.none, nil), pausedByUser, .none),
        ]
    )
    func afterAbort(job: DomainJobStats, state: DomainStateReason, expected: Decision) {
        #expect(Decision.afterAbort(job: job, state: state) == expected)
    }

    /// The test driver has no jobs: the pass leaves every domain as it was, aborts nothing and warns of nothing,
    /// so an agent on it starts as before.
    @Test func aDriverWithoutJobsIsLeftAlone() async throws {
        let connection = try await LibvirtConnection.open("test:///default")
        let name = "orphan-\(UUID().uuidString.prefix(8).lowercased())"
        let domain = try await connection.createDomain(
            xml: """
                <domain type='test'><name>\(name)</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
                <os><type>hvm</type></os></domain>
                """
        )
        let logs = CapturedLogs(label: "torpor.agent.tests")
        let aborted = await OrphanedMigrationCleanup(
            connection: connection,
            logger: logs.logger,
            clock: ContinuousClock()
        )
        .run()
        #expect(aborted.isEmpty)
        #expect(try await domain.stateReason().state == .running)
        #expect(logs.all.filter { $0.level >= .notice }.isEmpty, "\(logs.all)")
        try await domain.destroy()
        await connection.close()
    }

}
