import CLibvirt

/// The kind of job libvirt reports for a domain (`virDomainJobType`).
public enum DomainJobType: Sendable, Hashable {
    case none
    case bounded
    case unbounded
    case completed
    case failed
    case cancelled
    /// A value newer than this list.
    case unknown(Int32)

    init(libvirtValue: Int32) {
        switch UInt32(bitPattern: libvirtValue) {
        case VIR_DOMAIN_JOB_NONE.rawValue: self = .none
        case VIR_DOMAIN_JOB_BOUNDED.rawValue: self = .bounded
        case VIR_DOMAIN_JOB_UNBOUNDED.rawValue: self = .unbounded
        case VIR_DOMAIN_JOB_COMPLETED.rawValue: self = .completed
        case VIR_DOMAIN_JOB_FAILED.rawValue: self = .failed
        case VIR_DOMAIN_JOB_CANCELLED.rawValue: self = .cancelled
        default: self = .unknown(libvirtValue)
        }
    }

    /// True while the job runs.
    public var isActive: Bool { self == .bounded || self == .unbounded }
}

/// What a domain's job does (`virDomainJobOperation`, the job stats' `operation` field).
public enum DomainJobOperation: Sendable, Hashable {
    case unknown
    case start
    case save
    case restore
    case migrationIn
    case migrationOut
    case snapshot
    case snapshotRevert
    case dump
    case backup
    case snapshotDelete
    /// A value newer than this list.
    case other(Int64)

    init(libvirtValue: Int64) {
        switch libvirtValue {
        case Int64(VIR_DOMAIN_JOB_OPERATION_UNKNOWN.rawValue): self = .unknown
        case Int64(VIR_DOMAIN_JOB_OPERATION_START.rawValue): self = .start
        case Int64(VIR_DOMAIN_JOB_OPERATION_SAVE.rawValue): self = .save
        case Int64(VIR_DOMAIN_JOB_OPERATION_RESTORE.rawValue): self = .restore
        case Int64(VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN.rawValue): self = .migrationIn
        case Int64(VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT.rawValue): self = .migrationOut
        case Int64(VIR_DOMAIN_JOB_OPERATION_SNAPSHOT.rawValue): self = .snapshot
        case Int64(VIR_DOMAIN_JOB_OPERATION_SNAPSHOT_REVERT.rawValue): self = .snapshotRevert
        case Int64(VIR_DOMAIN_JOB_OPERATION_DUMP.rawValue): self = .dump
        case Int64(VIR_DOMAIN_JOB_OPERATION_BACKUP.rawValue): self = .backup
        case Int64(VIR_DOMAIN_JOB_OPERATION_SNAPSHOT_DELETE.rawValue): self = .snapshotDelete
        default: self = .other(libvirtValue)
        }
    }
}

/// Progress of a domain's current job (`virDomainGetJobStats`); fields the driver did not report are nil.
public struct DomainJobStats: Sendable, Equatable {
    public var type: DomainJobType
    /// `operation`: what the job does; nil when the driver does not say.
    public var operation: DomainJobOperation?
    /// `time_elapsed`, milliseconds since the job started.
    public var elapsedMilliseconds: UInt64?
    /// `data_total`, `data_processed`, `data_remaining`: memory plus disk bytes.
    public var dataTotalBytes: UInt64?
    public var dataProcessedBytes: UInt64?
    public var dataRemainingBytes: UInt64?
    /// `memory_dirty_rate`: pages the guest dirties per second.
    public var memoryDirtyRatePagesPerSecond: UInt64?
    /// `memory_page_size`, bytes.
    public var memoryPageSizeBytes: UInt64?
    /// `memory_iteration`: pre-copy passes over guest memory so far.
    public var memoryIteration: UInt64?
    /// `memory_remaining`, bytes.
    public var memoryRemainingBytes: UInt64?

    public init(
        type: DomainJobType,
        operation: DomainJobOperation? = nil,
        elapsedMilliseconds: UInt64? = nil,
        dataTotalBytes: UInt64? = nil,
        dataProcessedBytes: UInt64? = nil,
        dataRemainingBytes: UInt64? = nil,
        memoryDirtyRatePagesPerSecond: UInt64? = nil,
        memoryPageSizeBytes: UInt64? = nil,
        memoryIteration: UInt64? = nil,
        memoryRemainingBytes: UInt64? = nil
    ) {
        self.type = type
        self.operation = operation
        self.elapsedMilliseconds = elapsedMilliseconds
        self.dataTotalBytes = dataTotalBytes
        self.dataProcessedBytes = dataProcessedBytes
        self.dataRemainingBytes = dataRemainingBytes
        self.memoryDirtyRatePagesPerSecond = memoryDirtyRatePagesPerSecond
        self.memoryPageSizeBytes = memoryPageSizeBytes
        self.memoryIteration = memoryIteration
        self.memoryRemainingBytes = memoryRemainingBytes
    }

    /// Field names are libvirt's `VIR_DOMAIN_JOB_*` macros.
    init(type: Int32, parameters: TypedParameters) {
        self.init(
            type: DomainJobType(libvirtValue: type),
            operation: parameters.signed("operation").map(DomainJobOperation.init(libvirtValue:)),
            elapsedMilliseconds: parameters.unsigned("time_elapsed"),
            dataTotalBytes: parameters.unsigned("data_total"),
            dataProcessedBytes: parameters.unsigned("data_processed"),
            dataRemainingBytes: parameters.unsigned("data_remaining"),
            memoryDirtyRatePagesPerSecond: parameters.unsigned("memory_dirty_rate"),
            memoryPageSizeBytes: parameters.unsigned("memory_page_size"),
            memoryIteration: parameters.unsigned("memory_iteration"),
            memoryRemainingBytes: parameters.unsigned("memory_remaining")
        )
    }

    /// The dirty rate in bytes per second, when both the rate and the page size are known.
    public var memoryDirtyRateBytesPerSecond: UInt64? {
        guard let pages = memoryDirtyRatePagesPerSecond, let size = memoryPageSizeBytes else { return nil }
        let (bytes, overflow) = pages.multipliedReportingOverflow(by: size)
        return overflow ? UInt64.max : bytes
    }
}
