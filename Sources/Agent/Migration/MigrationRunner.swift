import Foundation
import Libvirt
import Logging
import Synchronization
import Wire

/// Runs the agent's migrations: one per VM at a time, each watched by a `MigrationWatchdog` whose actions it
/// carries out on libvirt, with a MigrationProgress push to the manager at every sample and at the end.
public final class MigrationRunner: Sendable {
    /// Where progress pushes go (the manager link); a push that cannot be sent is dropped.
    public typealias ProgressSink = @Sendable (MigrationProgress) async -> Void

    public let configuration: MigrationWatchdogConfiguration
    private let progressSink: ProgressSink
    private let logger: Logger
    /// Cancel flags of the migrations running now, by VM name.
    private let running = Mutex<[String: CancelFlag]>([:])

    public init(
        configuration: MigrationWatchdogConfiguration,
        progress: @escaping ProgressSink = { _ in },
        logger: Logger
    ) {
        self.configuration = configuration
        self.progressSink = progress
        self.logger = logger
    }

    /// Names of the VMs migrating now.
    public var migratingVMs: Set<String> { running.withLock { Set($0.keys) } }

    /// Asks the watchdog of `vmName`'s migration to abort it; false when no migration of that VM runs.
    public func cancel(vmName: String) -> Bool {
        guard let flag = running.withLock({ $0[vmName] }) else { return false }
        flag.raise()
        return true
    }

    /// The answer to MigrationCancel.
    public func cancel(_ request: MigrationCancel) -> CommandResult {
        if cancel(vmName: request.vmName) {
            return .ok("cancelling the migration of \(request.vmName); it keeps running on this host")
        }
        return CommandResult(code: .notFound, message: "no migration of '\(request.vmName)' runs on this host")
    }

    /// Migrates one VM and answers with its outcome: which host runs it, every watchdog step and its time.
    public func migrate(_ migration: VMCommand.Migration, on connection: LibvirtConnection) async -> CommandResult {
        let storage: MigrationStorage
        switch migration.method {
        case .live: storage = .shared
        case .liveNonSharedFullDisk: storage = .copyAll
        case .liveNonSharedIncrementalDisk: storage = .copyIncremental
        case .offline:
            return CommandResult(
                code: .unsupported,
                message: "offline migration is not supported: \(migration.name) would stop; use a live method"
            )
        }
        guard !migration.destinationURI.isEmpty else {
            return CommandResult(code: .invalidArgument, message: "no destination URI to migrate \(migration.name) to")
        }
        let flag = CancelFlag()
        let admitted = running.withLock { running in
            guard running[migration.name] == nil else { return false }
            running[migration.name] = flag
            return true
        }
        guard admitted else {
            return CommandResult(code: .busy, message: "\(migration.name) is already migrating")
        }
        defer { _ = running.withLock { $0.removeValue(forKey: migration.name) } }

        // A connection of its own: progress reads and the watchdog's calls must not queue behind the monitor's
        // sampling on the agent's shared connection (whose calls can wait on the migrating domain).
        let control: LibvirtConnection
        do throws(LibvirtError) {
            control = try await LibvirtConnection.open(connection.uri)
        } catch {
            return CommandResult(code: .hypervisorError, message: "\(error)")
        }
        let result = await migrate(migration, storage: storage, on: control, cancel: flag)
        await control.close()
        return result
    }

    private func migrate(
        _ migration: VMCommand.Migration,
        storage: MigrationStorage,
        on connection: LibvirtConnection,
        cancel flag: CancelFlag
    ) async -> CommandResult {
        let domain: LibvirtDomain
        let info: DomainInfo
        do throws(LibvirtError) {
            domain = try await connection.domain(named: migration.name)
            info = try await domain.info()
        } catch {
            let code: CommandResult.Code = error.errorCode == .noDomain ? .notFound : .hypervisorError
            return CommandResult(code: code, message: "\(error)")
        }
        guard info.state == .running else {
            return CommandResult(
                code: .invalidArgument,
                message: "\(migration.name) is not running (\(info.state)); only a running VM migrates live"
            )
        }
        let request = MigrationRequest(
            destinationURI: migration.destinationURI,
            storage: storage,
            autoConverge: configuration.autoConverge,
            allowPostCopy: configuration.allowPostCopy,
            bandwidthMiBPerSecond: configuration.initialBandwidthMiBPerSecond
        )
        var watchdog = MigrationWatchdog(
            configuration: configuration,
            bytesToCopy: info.maxMemoryKiB * 1024,
            timeout: migration.timeoutSeconds > 0 ? .seconds(Int64(migration.timeoutSeconds)) : nil
        )
        return await run(request, of: domain, migration: migration, watchdog: &watchdog, cancel: flag)
    }

    private func run(
        _ request: MigrationRequest,
        of domain: LibvirtDomain,
        migration: VMCommand.Migration,
        watchdog: inout MigrationWatchdog,
        cancel: CancelFlag
    ) async -> CommandResult {
        let metadata: Logger.Metadata = [
            "torpor.vm": "\(migration.name)", "torpor.destination": "\(request.destinationURI)",
        ]
        logger.info("migration started", metadata: metadata.merging(["torpor.method": "\(request.storage)"]) { $1 })
        let clock = ContinuousClock()
        let start = clock.now
        let ended = MigrationCallResult()
        var latest = DomainJobStats(type: .none)
        var failures: [String] = []

        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                let result: Result<Void, LibvirtError>
                do throws(LibvirtError) {
                    try await domain.migrate(request)
                    result = .success(())
                } catch {
                    result = .failure(error)
                }
                ended.set(result)
            }
            while ended.value == nil {
                // The migration must be seen to its end even if whoever asked for it has gone away.
                await Self.sleepIgnoringCancellation(configuration.sampleInterval)
                if ended.value != nil { break }
                let now = clock.now - start
                var actions: [MigrationWatchdog.Action] = []
                if cancel.isRaised {
                    actions += watchdog.handle(.cancel(at: now))
                }
                if let stats = try? await domain.jobStats(), stats.type.isActive {
                    latest = stats
                    let sample = MigrationWatchdog.Sample(
                        totalBytes: stats.dataTotalBytes,
                        remainingBytes: stats.dataRemainingBytes,
                        iteration: stats.memoryIteration
                    )
                    actions += watchdog.handle(.progress(sample, at: now))
                } else {
                    actions += watchdog.handle(.tick(at: now))
                }
                for action in actions {
                    guard let failure = await apply(action, to: domain, destinationURI: request.destinationURI)
                    else { continue }
                    failures.append(failure)
                    if case .take(let step) = action {
                        _ = watchdog.handle(.stepFailed(step, at: clock.now - start))
                    }
                }
                await progressSink(progress(migration, watchdog: watchdog, stats: latest, phase: nil, at: now))
            }
            await group.waitForAll()
        }

        let outcome = ended.value ?? .success(())
        let elapsed = clock.now - start
        let end: MigrationWatchdog.End
        if case .success = outcome { end = .completed } else { end = .failed }
        for action in watchdog.handle(.finished(end, at: elapsed)) {
            if let failure = await apply(action, to: domain, destinationURI: request.destinationURI) {
                failures.append(failure)
            }
        }
        let phase: MigrationProgress.Phase
        switch outcome {
        case .success: phase = .completed
        case .failure: phase = watchdog.stepsTaken.contains(.abort) ? .aborted : .failed
        }
        await progressSink(progress(migration, watchdog: watchdog, stats: latest, phase: phase, at: elapsed))
        let detail = (Self.describe(watchdog.records) + failures).joined(separator: "\n")
        let seconds = Self.seconds(elapsed)
        switch outcome {
        case .success:
            logger.info("migration completed", metadata: metadata.merging(["torpor.elapsed": "\(seconds)"]) { $1 })
            return CommandResult(
                code: .ok,
                message: "migrated \(migration.name) to \(request.destinationURI) in \(seconds) s",
                detail: detail
            )
        case .failure(let error):
            logger.warning(
                "migration did not complete",
                metadata: metadata.merging(["torpor.error": "\(error)", "torpor.phase": "\(phase)"]) { $1 }
            )
            let why: String
            let code: CommandResult.Code
            if cancel.isRaised {
                (why, code) = ("cancelled", .commandFailed)
            } else if phase == .aborted {
                (why, code) = ("aborted by the watchdog", .timedOut)
            } else {
                (why, code) = ("failed: \(error)", .hypervisorError)
            }
            return CommandResult(
                code: code,
                message: "migration of \(migration.name) to \(request.destinationURI) \(why) after \(seconds) s; "
                    + "it runs on this host",
                detail: detail
            )
        }
    }

    /// Carries out one watchdog action; returns what went wrong, for the outcome's detail.
    private func apply(
        _ action: MigrationWatchdog.Action,
        to domain: LibvirtDomain,
        destinationURI: String
    ) async -> String? {
        do throws(LibvirtError) {
            switch action {
            case .take(.raiseDowntime):
                try await domain.setMigrationMaxDowntime(milliseconds: configuration.raisedDowntimeMilliseconds)
            case .take(.raiseBandwidth):
                try await domain.setMigrationMaxSpeed(mebibytesPerSecond: configuration.raisedBandwidthMiBPerSecond)
            case .take(.postCopy):
                try await domain.startPostCopy()
            case .take(.pause):
                try await domain.suspend()
            case .take(.abort):
                try await domain.abortJob()
            case .resume(.source):
                try await Self.resumeIfPaused(domain)
            case .resume(.destination):
                let destination = try await LibvirtConnection.open(destinationURI)
                let resumed: Result<Void, LibvirtError>
                do throws(LibvirtError) {
                    try await Self.resumeIfPaused(try await destination.domain(uuid: domain.uuid))
                    resumed = .success(())
                } catch {
                    resumed = .failure(error)
                }
                await destination.close()
                try resumed.get()
            }
            logger.notice(
                "migration watchdog acted",
                metadata: ["torpor.vm": "\(domain.name)", "torpor.action": "\(Self.describe(action))"]
            )
            return nil
        } catch {
            logger.warning(
                "migration watchdog action failed",
                metadata: [
                    "torpor.vm": "\(domain.name)", "torpor.action": "\(Self.describe(action))",
                    "torpor.error": "\(error)",
                ]
            )
            return "\(Self.describe(action)) failed: \(error)"
        }
    }

    static func sleepIgnoringCancellation(_ duration: Duration) async {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = max(0, Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) {
                continuation.resume()
            }
        }
    }

    private static func resumeIfPaused(_ domain: LibvirtDomain) async throws(LibvirtError) {
        if try await domain.info().state == .paused {
            try await domain.resume()
        }
    }

    private func progress(
        _ migration: VMCommand.Migration,
        watchdog: MigrationWatchdog,
        stats: DomainJobStats,
        phase: MigrationProgress.Phase?,
        at elapsed: Duration
    ) -> MigrationProgress {
        let current: MigrationProgress.Phase = phase ?? (watchdog.phase == .postCopy ? .postCopy : .copying)
        return MigrationProgress(
            vmName: migration.name,
            destinationURI: migration.destinationURI,
            phase: current,
            elapsedMilliseconds: Self.milliseconds(elapsed),
            dataTotalBytes: stats.dataTotalBytes ?? 0,
            dataProcessedBytes: stats.dataProcessedBytes ?? 0,
            dataRemainingBytes: stats.dataRemainingBytes ?? 0,
            memoryDirtyRateBytesPerSecond: stats.memoryDirtyRateBytesPerSecond ?? 0,
            iteration: stats.memoryIteration ?? 0,
            steps: Self.wireSteps(watchdog.records)
        )
    }

    /// Steps that were carried out; a failed one (no effect) is left out.
    static func wireSteps(_ records: [MigrationWatchdog.Record]) -> [MigrationProgress.TakenStep] {
        var steps: [MigrationProgress.TakenStep] = []
        for record in records {
            switch record {
            case .step(let step, let at): steps.append(.init(wireStep(step), atMilliseconds: milliseconds(at)))
            case .stepFailed(let step, _):
                if let index = steps.lastIndex(where: { $0.step == wireStep(step) }) { steps.remove(at: index) }
            case .resumed(_, let at): steps.append(.init(.resume, atMilliseconds: milliseconds(at)))
            }
        }
        return steps
    }

    static func wireStep(_ step: MigrationWatchdog.Step) -> MigrationProgress.Step {
        switch step {
        case .raiseDowntime: .raiseDowntime
        case .raiseBandwidth: .raiseBandwidth
        case .postCopy: .postCopy
        case .pause: .pause
        case .abort: .abort
        }
    }

    /// One line per record: "pause at 61.0 s", "pause failed at 61.2 s", "resume on source at 90.1 s".
    static func describe(_ records: [MigrationWatchdog.Record]) -> [String] {
        records.map { record in
            switch record {
            case .step(let step, let at): "\(step.rawValue) at \(seconds(at)) s"
            case .stepFailed(let step, let at): "\(step.rawValue) failed at \(seconds(at)) s"
            case .resumed(let host, let at): "resume on \(host) at \(seconds(at)) s"
            }
        }
    }

    static func describe(_ action: MigrationWatchdog.Action) -> String {
        switch action {
        case .take(let step): step.rawValue
        case .resume(let host): "resume on \(host)"
        }
    }

    static func milliseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) * 1_000 + UInt64(attoseconds / 1_000_000_000_000_000)
    }

    static func seconds(_ duration: Duration) -> String {
        String(format: "%.1f", Double(milliseconds(duration)) / 1_000)
    }
}

/// How the blocking migrate call returned, handed from its child task to the watchdog loop.
final class MigrationCallResult: Sendable {
    private let result = Mutex<Result<Void, LibvirtError>?>(nil)

    func set(_ value: Result<Void, LibvirtError>) { result.withLock { $0 = value } }

    var value: Result<Void, LibvirtError>? { result.withLock { $0 } }
}

/// Raised once by a cancel; read by the migration's watchdog loop.
final class CancelFlag: Sendable {
    private let raised = Atomic<Bool>(false)

    func raise() { raised.store(true, ordering: .relaxed) }

    var isRaised: Bool { raised.load(ordering: .relaxed) }
}
