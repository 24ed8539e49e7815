import Libvirt
import Logging

/// What the agent does, at start, with a domain's libvirt job: an outgoing migration still running then was
/// started by a previous agent process (libvirtd runs peer-to-peer jobs on its own), so nobody watches it and the
/// manager has already settled its task. Aborting it keeps the guest running once, here. Pure: no I/O.
enum OrphanedMigrationDecision: Equatable {
    /// No orphaned migration: nothing to do.
    case none
    /// An outgoing pre-copy migration runs: abort it (`virDomainAbortJob`).
    case abort
    /// The abort has not ended the job yet: look again shortly.
    case wait
    /// The migration ended leaving the guest paused for it: resume it here.
    case resume
    /// Post-copy has started: the guest's memory is partly on the destination, which must finish it.
    case leavePostCopy

    /// At start, before anything was done to the domain.
    static func atStart(job: DomainJobStats, state: DomainStateReason) -> Self {
        guard job.type.isActive, job.operation == .migrationOut else { return .none }
        return state.isPausedByPostCopy ? .leavePostCopy : .abort
    }

    /// After the abort was requested: libvirt cancels the job asynchronously and usually resumes the guest
    /// itself, but not one the migration (or the old agent's watchdog) had paused.
    static func afterAbort(job: DomainJobStats, state: DomainStateReason) -> Self {
        if job.type.isActive { return state.isPausedByPostCopy ? .leavePostCopy : .wait }
        return state.isPausedByMigration ? .resume : .none
    }
}

/// Ends the outgoing migrations a previous agent process left running (see `OrphanedMigrationDecision`), before
/// the agent reports its first inventory, so the VM it reports runs here and is not moving behind its back.
struct OrphanedMigrationCleanup<ClockType: Clock<Duration>> {
    let connection: LibvirtConnection
    let logger: Logger
    let clock: ClockType
    /// How long libvirt gets to end an aborted job before the agent goes on without it.
    var abortTimeout: Duration = .seconds(60)
    var pollInterval: Duration = .milliseconds(250)

    /// The names of the domains whose migration was aborted. Never throws: a domain it cannot read is logged
    /// and left alone, and a driver without jobs (the test driver) has nothing to clean up.
    @discardableResult
    func run() async -> [String] {
        let domains: [LibvirtDomain]
        do {
            domains = try await connection.allDomains()
        } catch {
            logger.warning(
                "cannot list domains to look for orphaned migrations",
                metadata: ["torpor.error": "\(error)"]
            )
            return []
        }
        var aborted: [String] = []
        for domain in domains where await cleanUp(domain) {
            aborted.append(domain.name)
        }
        return aborted
    }

    /// True when the domain's orphaned migration was aborted.
    private func cleanUp(_ domain: LibvirtDomain) async -> Bool {
        var metadata: Logger.Metadata = ["torpor.vm": "\(domain.name)"]
        let job: DomainJobStats
        let state: DomainStateReason
        do {
            guard try await domain.isActive() else { return false }
            job = try await domain.jobStats()
            state = try await domain.stateReason()
        } catch {
            // noSupport: the driver has no jobs, so no migration either; noDomain: it has gone since the listing.
            if error.errorCode != .noSupport && error.errorCode != .noDomain {
                logger.warning(
                    "cannot read the domain's job at start",
                    metadata: metadata.merging(["torpor.error": "\(error)"]) { $1 }
                )
            }
            return false
        }
        metadata["torpor.elapsed"] = "\(Double(job.elapsedMilliseconds ?? 0) / 1000)"
        switch OrphanedMigrationDecision.atStart(job: job, state: state) {
        case .abort:
            break
        case .leavePostCopy:
            logger.warning(
                "an outgoing post-copy migration from before the agent's restart is left to finish",
                metadata: metadata
            )
            return false
        case .none, .wait, .resume:
            return false
        }
        logger.warning("aborting an outgoing migration left by the agent's previous run", metadata: metadata)
        do {
            try await domain.abortJob()
        } catch {
            logger.error(
                "cannot abort the orphaned migration",
                metadata: metadata.merging(["torpor.error": "\(error)"]) { $1 }
            )
            return false
        }
        let deadline = clock.now.advanced(by: abortTimeout)
        while true {
            let decision: OrphanedMigrationDecision
            do {
                decision = OrphanedMigrationDecision.afterAbort(
                    job: try await domain.jobStats(),
                    state: try await domain.stateReason()
                )
            } catch {
                logger.error(
                    "cannot read the domain after aborting its migration",
                    metadata: metadata.merging(["torpor.error": "\(error)"]) { $1 }
                )
                return true
            }
            switch decision {
            case .none:
                logger.notice("orphaned migration aborted; the guest runs here", metadata: metadata)
                return true
            case .resume:
                do {
                    try await domain.resume()
                    logger.notice(
                        "orphaned migration aborted; the guest it had paused runs here again",
                        metadata: metadata
                    )
                } catch {
                    logger.error(
                        "cannot resume the guest after aborting its migration",
                        metadata: metadata.merging(["torpor.error": "\(error)"]) { $1 }
                    )
                }
                return true
            case .leavePostCopy:
                logger.warning(
                    "the orphaned migration switched to post-copy before the abort; left to finish",
                    metadata: metadata
                )
                return false
            case .wait, .abort:
                guard clock.now < deadline else {
                    logger.error(
                        "the orphaned migration's job did not end after the abort",
                        metadata: metadata.merging(["torpor.timeout": "\(abortTimeout)"]) { $1 }
                    )
                    return true
                }
                try? await clock.sleep(for: pollInterval)
            }
        }
    }
}
