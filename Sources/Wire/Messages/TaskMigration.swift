import NIOCore

/// A migration task's progress and outcome, carried in TaskStatus's `migration` extension field so that a CLI from
/// before migrations skips it. On the wire (docs/protocol.md, TaskStatus): source and destination host, method,
/// phase, the reason the VM moves, the migration's start, then the agent's latest counters and every watchdog step.
public struct TaskMigration: Hashable, Sendable {
    public enum Phase: UInt8, Hashable, Sendable, CaseIterable {
        /// Accepted, waiting for a free migration slot (limits per host and per cluster).
        case waiting = 1
        /// The source agent was asked; no progress heard yet.
        case starting = 2
        /// Pre-copy: the VM runs on the source while its memory (and disks) are copied.
        case copying = 3
        /// The VM runs on the destination and fetches its last pages from the source.
        case postCopy = 4
        /// The VM runs on the destination only.
        case completed = 5
        /// Cancelled or given up by the watchdog: the VM runs on the source.
        case aborted = 6
        /// libvirt, an agent or the destination failed it: the VM runs on the source unless the reason says
        /// otherwise.
        case failed = 7

        public var isFinal: Bool { self == .completed || self == .aborted || self == .failed }
    }

    public var sourceHostID: String
    public var destinationHostID: String
    public var method: VMCommand.Migration.Method
    public var phase: Phase
    /// Why the VM moves: "operator", or what the consolidation loop gives.
    public var reason: String
    /// When the source agent was asked (Unix milliseconds); 0 before.
    public var startedAtUnixMilliseconds: UInt64
    /// From the agent's latest MigrationProgress; 0 until one arrives.
    public var elapsedMilliseconds: UInt64
    public var dataTotalBytes: UInt64
    public var dataProcessedBytes: UInt64
    public var dataRemainingBytes: UInt64
    public var memoryDirtyRateBytesPerSecond: UInt64
    public var iteration: UInt64
    /// Every watchdog step the agent took, oldest first, at milliseconds since the migration started.
    public var steps: [MigrationProgress.TakenStep]

    public init(
        sourceHostID: String,
        destinationHostID: String,
        method: VMCommand.Migration.Method,
        phase: Phase,
        reason: String = "",
        startedAtUnixMilliseconds: UInt64 = 0,
        elapsedMilliseconds: UInt64 = 0,
        dataTotalBytes: UInt64 = 0,
        dataProcessedBytes: UInt64 = 0,
        dataRemainingBytes: UInt64 = 0,
        memoryDirtyRateBytesPerSecond: UInt64 = 0,
        iteration: UInt64 = 0,
        steps: [MigrationProgress.TakenStep] = []
    ) {
        self.sourceHostID = sourceHostID
        self.destinationHostID = destinationHostID
        self.method = method
        self.phase = phase
        self.reason = reason
        self.startedAtUnixMilliseconds = startedAtUnixMilliseconds
        self.elapsedMilliseconds = elapsedMilliseconds
        self.dataTotalBytes = dataTotalBytes
        self.dataProcessedBytes = dataProcessedBytes
        self.dataRemainingBytes = dataRemainingBytes
        self.memoryDirtyRateBytesPerSecond = memoryDirtyRateBytesPerSecond
        self.iteration = iteration
        self.steps = steps
    }

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireString(sourceHostID)
        buffer.writeWireString(destinationHostID)
        buffer.writeMultipleIntegers(method.rawValue, phase.rawValue)
        buffer.writeWireString(reason)
        buffer.writeMultipleIntegers(
            startedAtUnixMilliseconds,
            elapsedMilliseconds,
            dataTotalBytes,
            dataProcessedBytes,
            dataRemainingBytes,
            memoryDirtyRateBytesPerSecond,
            iteration
        )
        buffer.writeWireArray(steps) { buffer, taken in
            buffer.writeMultipleIntegers(taken.step.rawValue, taken.atMilliseconds)
        }
    }

    /// Decodes the whole field value: bytes left after it are `invalidValue` (`migration.length`).
    static func decode(field: WireExtensionField) throws(WireError) -> TaskMigration {
        let type = WireMessageType.taskStatus
        var buffer = field.value
        let source = try buffer.readWireString(type, "migration.sourceHostID")
        let destination = try buffer.readWireString(type, "migration.destinationHostID")
        let method = try buffer.readWireEnum(as: VMCommand.Migration.Method.self, type, "migration.method")
        let phase = try buffer.readWireEnum(as: Phase.self, type, "migration.phase")
        let reason = try buffer.readWireString(type, "migration.reason")
        let started = try buffer.readWireInteger(as: UInt64.self, type, "migration.startedAt")
        let elapsed = try buffer.readWireInteger(as: UInt64.self, type, "migration.elapsedMilliseconds")
        let total = try buffer.readWireInteger(as: UInt64.self, type, "migration.dataTotalBytes")
        let processed = try buffer.readWireInteger(as: UInt64.self, type, "migration.dataProcessedBytes")
        let remaining = try buffer.readWireInteger(as: UInt64.self, type, "migration.dataRemainingBytes")
        let dirty = try buffer.readWireInteger(as: UInt64.self, type, "migration.memoryDirtyRate")
        let iteration = try buffer.readWireInteger(as: UInt64.self, type, "migration.iteration")
        let steps = try buffer.readWireArray(minimumElementSize: MigrationProgress.stepSize, type, "migration.steps") {
            (buffer) throws(WireError) -> MigrationProgress.TakenStep in
            let step = try buffer.readWireEnum(as: MigrationProgress.Step.self, type, "migration.steps.step")
            let at = try buffer.readWireInteger(as: UInt64.self, type, "migration.steps.atMilliseconds")
            return MigrationProgress.TakenStep(step, atMilliseconds: at)
        }
        guard buffer.readableBytes == 0 else {
            throw .invalidValue(message: type, field: "migration.length", value: UInt64(field.value.readableBytes))
        }
        return TaskMigration(
            sourceHostID: source,
            destinationHostID: destination,
            method: method,
            phase: phase,
            reason: reason,
            startedAtUnixMilliseconds: started,
            elapsedMilliseconds: elapsed,
            dataTotalBytes: total,
            dataProcessedBytes: processed,
            dataRemainingBytes: remaining,
            memoryDirtyRateBytesPerSecond: dirty,
            iteration: iteration,
            steps: steps
        )
    }
}
