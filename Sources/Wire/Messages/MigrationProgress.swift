import NIOCore

/// An agent tells its manager how a migration it runs is going: sent unsolicited, with the `ignorable` flag, about
/// once a second while the job runs, and once more with the final phase. The final push lists every watchdog step
/// taken, so it is also the migration's outcome.
public struct MigrationProgress: WirePayload {
    public static let messageType = WireMessageType.migrationProgress

    public enum Phase: UInt8, Hashable, Sendable, CaseIterable {
        /// Pre-copy: memory (and disks) are being copied while the guest runs on the source.
        case copying = 1
        /// The guest runs on the destination and fetches its remaining pages from the source.
        case postCopy = 2
        /// The guest runs on the destination, and only there.
        case completed = 3
        /// The watchdog or a cancel stopped the migration; the guest runs on the source.
        case aborted = 4
        /// libvirt or the destination failed it; the guest runs on the source.
        case failed = 5

        public var isFinal: Bool { self == .completed || self == .aborted || self == .failed }
    }

    /// What the watchdog did to a migration that did not converge, in the order it may do it.
    public enum Step: UInt8, Hashable, Sendable, CaseIterable {
        /// Allowed a longer pause at switch-over.
        case raiseDowntime = 1
        /// Allowed more bandwidth.
        case raiseBandwidth = 2
        /// Switched to post-copy.
        case postCopy = 3
        /// Paused the guest on the source so its memory stops changing.
        case pause = 4
        /// Cancelled the migration.
        case abort = 5
        /// Resumed a guest the watchdog had paused, on whichever host it ended up.
        case resume = 6
    }

    public struct TakenStep: Hashable, Sendable {
        public var step: Step
        /// Milliseconds since the migration started.
        public var atMilliseconds: UInt64

        public init(_ step: Step, atMilliseconds: UInt64) {
            self.step = step
            self.atMilliseconds = atMilliseconds
        }
    }

    public var vmName: String
    public var destinationURI: String
    public var phase: Phase
    public var elapsedMilliseconds: UInt64
    /// Memory plus disk bytes, as libvirt's job reports them (0 when unknown).
    public var dataTotalBytes: UInt64
    public var dataProcessedBytes: UInt64
    public var dataRemainingBytes: UInt64
    public var memoryDirtyRateBytesPerSecond: UInt64
    /// Pre-copy passes over guest memory so far.
    public var iteration: UInt64
    /// Every watchdog step so far, oldest first.
    public var steps: [TakenStep]

    public init(
        vmName: String,
        destinationURI: String,
        phase: Phase,
        elapsedMilliseconds: UInt64,
        dataTotalBytes: UInt64 = 0,
        dataProcessedBytes: UInt64 = 0,
        dataRemainingBytes: UInt64 = 0,
        memoryDirtyRateBytesPerSecond: UInt64 = 0,
        iteration: UInt64 = 0,
        steps: [TakenStep] = []
    ) {
        self.vmName = vmName
        self.destinationURI = destinationURI
        self.phase = phase
        self.elapsedMilliseconds = elapsedMilliseconds
        self.dataTotalBytes = dataTotalBytes
        self.dataProcessedBytes = dataProcessedBytes
        self.dataRemainingBytes = dataRemainingBytes
        self.memoryDirtyRateBytesPerSecond = memoryDirtyRateBytesPerSecond
        self.iteration = iteration
        self.steps = steps
    }

    /// Bytes of one TakenStep on the wire.
    static let stepSize = 9

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireString(vmName)
        buffer.writeWireString(destinationURI)
        buffer.writeInteger(phase.rawValue)
        buffer.writeMultipleIntegers(
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

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> MigrationProgress {
        let vmName = try buffer.readWireString(messageType, "vmName")
        let destination = try buffer.readWireString(messageType, "destinationURI")
        let phase = try buffer.readWireEnum(as: Phase.self, messageType, "phase")
        let elapsed = try buffer.readWireInteger(as: UInt64.self, messageType, "elapsedMilliseconds")
        let total = try buffer.readWireInteger(as: UInt64.self, messageType, "dataTotalBytes")
        let processed = try buffer.readWireInteger(as: UInt64.self, messageType, "dataProcessedBytes")
        let remaining = try buffer.readWireInteger(as: UInt64.self, messageType, "dataRemainingBytes")
        let dirtyRate = try buffer.readWireInteger(as: UInt64.self, messageType, "memoryDirtyRateBytesPerSecond")
        let iteration = try buffer.readWireInteger(as: UInt64.self, messageType, "iteration")
        let steps = try buffer.readWireArray(minimumElementSize: stepSize, messageType, "steps") {
            buffer throws(WireError) in
            let step = try buffer.readWireEnum(as: Step.self, messageType, "steps.step")
            let at = try buffer.readWireInteger(as: UInt64.self, messageType, "steps.atMilliseconds")
            return TakenStep(step, atMilliseconds: at)
        }
        return MigrationProgress(
            vmName: vmName,
            destinationURI: destination,
            phase: phase,
            elapsedMilliseconds: elapsed,
            dataTotalBytes: total,
            dataProcessedBytes: processed,
            dataRemainingBytes: remaining,
            memoryDirtyRateBytesPerSecond: dirtyRate,
            iteration: iteration,
            steps: steps
        )
    }
}
