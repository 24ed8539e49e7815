import CLibvirt

/// A domain's state, mirroring libvirt's `virDomainState`.
public enum DomainState: Sendable, Hashable, CaseIterable {
    case noState
    case running
    case blocked
    case paused
    case shutdown
    case shutoff
    case crashed
    case pmSuspended

    /// Maps libvirt's number; values newer than this list become `noState`.
    init(libvirtValue: Int32) {
        switch UInt32(bitPattern: libvirtValue) {
        case VIR_DOMAIN_RUNNING.rawValue: self = .running
        case VIR_DOMAIN_BLOCKED.rawValue: self = .blocked
        case VIR_DOMAIN_PAUSED.rawValue: self = .paused
        case VIR_DOMAIN_SHUTDOWN.rawValue: self = .shutdown
        case VIR_DOMAIN_SHUTOFF.rawValue: self = .shutoff
        case VIR_DOMAIN_CRASHED.rawValue: self = .crashed
        case VIR_DOMAIN_PMSUSPENDED.rawValue: self = .pmSuspended
        default: self = .noState
        }
    }
}

/// What `virDomainGetInfo` reports.
public struct DomainInfo: Sendable, Equatable {
    public let state: DomainState
    /// Maximum memory the domain may use, KiB.
    public let maxMemoryKiB: UInt64
    /// Memory the domain currently has, KiB.
    public let memoryKiB: UInt64
    public let virtualCPUCount: Int
    /// CPU time used, nanoseconds.
    public let cpuTimeNanoseconds: UInt64

    public init(
        state: DomainState,
        maxMemoryKiB: UInt64,
        memoryKiB: UInt64,
        virtualCPUCount: Int,
        cpuTimeNanoseconds: UInt64
    ) {
        self.state = state
        self.maxMemoryKiB = maxMemoryKiB
        self.memoryKiB = memoryKiB
        self.virtualCPUCount = virtualCPUCount
        self.cpuTimeNanoseconds = cpuTimeNanoseconds
    }

    init(_ info: virDomainInfo) {
        self.init(
            state: DomainState(libvirtValue: Int32(info.state)),
            maxMemoryKiB: UInt64(info.maxMem),
            memoryKiB: UInt64(info.memory),
            virtualCPUCount: Int(info.nrVirtCpu),
            cpuTimeNanoseconds: info.cpuTime
        )
    }
}

/// Flags for `LibvirtDomain.xmlDescription` (`virDomainXMLFlags`).
public struct DomainXMLFlags: OptionSet, Sendable {
    public let rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// Include security-sensitive data such as passwords.
    public static let secure = DomainXMLFlags(rawValue: VIR_DOMAIN_XML_SECURE.rawValue)
    /// The persistent definition rather than the running one.
    public static let inactive = DomainXMLFlags(rawValue: VIR_DOMAIN_XML_INACTIVE.rawValue)
    /// Update guest CPU requirements from the host CPU.
    public static let updateCPU = DomainXMLFlags(rawValue: VIR_DOMAIN_XML_UPDATE_CPU.rawValue)
    /// XML suitable for migration.
    public static let migratable = DomainXMLFlags(rawValue: VIR_DOMAIN_XML_MIGRATABLE.rawValue)
}
