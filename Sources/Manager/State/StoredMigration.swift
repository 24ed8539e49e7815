import Foundation
import Wire

/// A migration task's record (the task's `migration` column, JSON): where the VM moves, why, how far it got and,
/// once ended, every watchdog step the agent took. The task's state, detail and outcome say how it ended.
public struct StoredMigration: Codable, Equatable, Sendable {
    /// TaskMigration's phases, by name.
    public enum Phase: String, Codable, Sendable, CaseIterable {
        case waiting, starting, copying, postCopy, completed, aborted, failed
    }

    public enum Method: String, Codable, Sendable, CaseIterable {
        case live
        case copyStorageAll = "copy-storage-all"
        case copyStorageInc = "copy-storage-inc"
    }

    public struct Step: Codable, Equatable, Sendable {
        /// MigrationProgress's step, by its config name (`raise_downtime`, `abort`, …).
        public var step: String
        /// Milliseconds since the migration started.
        public var atMilliseconds: UInt64

        public init(step: String, atMilliseconds: UInt64) {
            self.step = step
            self.atMilliseconds = atMilliseconds
        }
    }

    public var vmID: String
    public var sourceHostID: String
    public var destinationHostID: String
    public var method: Method
    public var reason: String
    public var phase: Phase
    /// When the source agent was asked; nil while waiting.
    public var startedAt: Date?
    public var elapsedMilliseconds: UInt64 = 0
    public var dataTotalBytes: UInt64 = 0
    public var dataProcessedBytes: UInt64 = 0
    public var dataRemainingBytes: UInt64 = 0
    public var memoryDirtyRateBytesPerSecond: UInt64 = 0
    public var iteration: UInt64 = 0
    public var steps: [Step] = []

    public init(
        vmID: String,
        sourceHostID: String,
        destinationHostID: String,
        method: Method,
        reason: String,
        phase: Phase = .waiting,
        startedAt: Date? = nil
    ) {
        self.vmID = vmID
        self.sourceHostID = sourceHostID
        self.destinationHostID = destinationHostID
        self.method = method
        self.reason = reason
        self.phase = phase
        self.startedAt = startedAt
    }
}

extension StoredMigration.Method {
    init?(_ method: VMCommand.Migration.Method) {
        switch method {
        case .live: self = .live
        case .liveNonSharedFullDisk: self = .copyStorageAll
        case .liveNonSharedIncrementalDisk: self = .copyStorageInc
        case .offline: return nil
        }
    }

    var wire: VMCommand.Migration.Method {
        switch self {
        case .live: .live
        case .copyStorageAll: .liveNonSharedFullDisk
        case .copyStorageInc: .liveNonSharedIncrementalDisk
        }
    }
}

extension StoredMigration.Phase {
    init(_ phase: TaskMigration.Phase) {
        switch phase {
        case .waiting: self = .waiting
        case .starting: self = .starting
        case .copying: self = .copying
        case .postCopy: self = .postCopy
        case .completed: self = .completed
        case .aborted: self = .aborted
        case .failed: self = .failed
        }
    }

    var wire: TaskMigration.Phase {
        switch self {
        case .waiting: .waiting
        case .starting: .starting
        case .copying: .copying
        case .postCopy: .postCopy
        case .completed: .completed
        case .aborted: .aborted
        case .failed: .failed
        }
    }
}

extension StoredMigration.Step {
    static let names: [MigrationProgress.Step: String] = [
        .raiseDowntime: "raise_downtime", .raiseBandwidth: "raise_bandwidth", .postCopy: "post_copy",
        .pause: "pause", .abort: "abort", .resume: "resume",
    ]

    init(_ taken: MigrationProgress.TakenStep) {
        self.init(step: Self.names[taken.step] ?? "\(taken.step)", atMilliseconds: taken.atMilliseconds)
    }

    var wire: MigrationProgress.TakenStep? {
        guard let step = Self.names.first(where: { $0.value == self.step })?.key else { return nil }
        return MigrationProgress.TakenStep(step, atMilliseconds: atMilliseconds)
    }
}

extension StoredMigration {
    /// Takes an agent's progress push: counters, phase and steps.
    mutating func apply(_ progress: MigrationProgress) {
        phase = StoredMigration.Phase(MigrationMachine.phase(progress.phase))
        elapsedMilliseconds = progress.elapsedMilliseconds
        dataTotalBytes = progress.dataTotalBytes
        dataProcessedBytes = progress.dataProcessedBytes
        dataRemainingBytes = progress.dataRemainingBytes
        memoryDirtyRateBytesPerSecond = progress.memoryDirtyRateBytesPerSecond
        iteration = progress.iteration
        steps = progress.steps.map(StoredMigration.Step.init)
    }

    var wire: TaskMigration {
        TaskMigration(
            sourceHostID: sourceHostID,
            destinationHostID: destinationHostID,
            method: method.wire,
            phase: phase.wire,
            reason: reason,
            startedAtUnixMilliseconds: startedAt?.unixMilliseconds ?? 0,
            elapsedMilliseconds: elapsedMilliseconds,
            dataTotalBytes: dataTotalBytes,
            dataProcessedBytes: dataProcessedBytes,
            dataRemainingBytes: dataRemainingBytes,
            memoryDirtyRateBytesPerSecond: memoryDirtyRateBytesPerSecond,
            iteration: iteration,
            steps: steps.compactMap(\.wire)
        )
    }
}
