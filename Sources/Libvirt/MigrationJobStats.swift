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

/// Progress of a domain's current job (`virDomainGetJobStats`); fields the driver did not report are nil.
public struct DomainJobStats: Sendable, Equatable {
    public var type: DomainJobType
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
