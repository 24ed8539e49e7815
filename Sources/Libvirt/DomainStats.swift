import CLibvirt
import Foundation

/// Traffic counters of one guest NIC. Each counter is nil when the driver does not report it.
public struct InterfaceStats: Sendable, Equatable {
    /// The host-side device name (`<target dev=...>`), or the MAC address when the NIC has no target name.
    public var name: String
    public var rxBytes: UInt64?
    public var txBytes: UInt64?
    public var rxPackets: UInt64?
    public var txPackets: UInt64?

    public init(name: String, rxBytes: UInt64?, txBytes: UInt64?, rxPackets: UInt64?, txPackets: UInt64?) {
        self.name = name
        self.rxBytes = rxBytes
        self.txBytes = txBytes
        self.rxPackets = rxPackets
        self.txPackets = txPackets
    }
}

/// I/O counters of one guest disk. Each counter is nil when the driver does not report it.
public struct DiskStats: Sendable, Equatable {
    /// The guest-side target name (`<target dev=...>`), e.g. "vda".
    public var name: String
    public var readBytes: UInt64?
    public var writeBytes: UInt64?

    public init(name: String, readBytes: UInt64?, writeBytes: UInt64?) {
        self.name = name
        self.readBytes = readBytes
        self.writeBytes = writeBytes
    }
}

/// One domain's resource counters, as the bulk call reported them, with gaps filled by per-call APIs in
/// `LibvirtConnection.collectStats()`. Every value is optional: drivers differ in what they report.
public struct DomainStats: Sendable, Equatable {
    /// Which API supplied a group of values.
    public enum Source: Sendable, Hashable {
        /// `virConnectGetAllDomainStats`.
        case bulk
        /// A per-domain call: `virDomainGetInfo`, `virDomainMemoryStats`, `virDomainInterfaceStats`,
        /// `virDomainBlockStats`.
        case perCall
    }

    /// The source of each group; nil when nothing supplied the group. A group is `perCall` if the fallback
    /// supplied any value in it.
    public struct Sources: Sendable, Equatable {
        public var state: Source?
        public var cpu: Source?
        public var virtualCPUs: Source?
        public var balloon: Source?
        public var interfaces: Source?
        public var disks: Source?

        public init(
            state: Source? = nil,
            cpu: Source? = nil,
            virtualCPUs: Source? = nil,
            balloon: Source? = nil,
            interfaces: Source? = nil,
            disks: Source? = nil
        ) {
            self.state = state
            self.cpu = cpu
            self.virtualCPUs = virtualCPUs
            self.balloon = balloon
            self.interfaces = interfaces
            self.disks = disks
        }
    }

    /// Guest memory as the balloon driver sees it, KiB.
    public struct Balloon: Sendable, Equatable {
        /// Memory the guest currently has (the balloon's size).
        public var currentKiB: UInt64?
        /// The most the balloon may give the guest.
        public var maximumKiB: UInt64?
        /// Host memory actually resident for the guest process.
        public var rssKiB: UInt64?
        /// Memory the guest OS can see as usable in total.
        public var availableKiB: UInt64?

        public init(
            currentKiB: UInt64? = nil,
            maximumKiB: UInt64? = nil,
            rssKiB: UInt64? = nil,
            availableKiB: UInt64? = nil
        ) {
            self.currentKiB = currentKiB
            self.maximumKiB = maximumKiB
            self.rssKiB = rssKiB
            self.availableKiB = availableKiB
        }

        var isEmpty: Bool { self == Balloon() }
    }

    public var uuid: UUID
    public var name: String
    public var state: DomainState?
    /// Total CPU time used by the domain, nanoseconds.
    public var cpuTimeNanoseconds: UInt64?
    public var virtualCPUCount: Int?
    public var balloon: Balloon
    public var interfaces: [InterfaceStats]
    public var disks: [DiskStats]
    public var sources: Sources
    /// Per-call fallback calls that failed for this domain (the values they would have given stay nil).
    public var fallbackErrors: [LibvirtError]

    public init(
        uuid: UUID,
        name: String,
        state: DomainState? = nil,
        cpuTimeNanoseconds: UInt64? = nil,
        virtualCPUCount: Int? = nil,
        balloon: Balloon = Balloon(),
        interfaces: [InterfaceStats] = [],
        disks: [DiskStats] = [],
        sources: Sources = Sources(),
        fallbackErrors: [LibvirtError] = []
    ) {
        self.uuid = uuid
        self.name = name
        self.state = state
        self.cpuTimeNanoseconds = cpuTimeNanoseconds
        self.virtualCPUCount = virtualCPUCount
        self.balloon = balloon
        self.interfaces = interfaces
        self.disks = disks
        self.sources = sources
        self.fallbackErrors = fallbackErrors
    }
}

/// The `virConnectGetAllDomainStats` groups requested, and the field names read from them, in one place.
/// https://libvirt.org/html/libvirt-libvirt-domain.html#virConnectGetAllDomainStats
enum BulkStatsField {
    static let groups: UInt32 =
        VIR_DOMAIN_STATS_STATE.rawValue | VIR_DOMAIN_STATS_CPU_TOTAL.rawValue
        | VIR_DOMAIN_STATS_BALLOON.rawValue | VIR_DOMAIN_STATS_VCPU.rawValue
        | VIR_DOMAIN_STATS_INTERFACE.rawValue | VIR_DOMAIN_STATS_BLOCK.rawValue

    static let state = "state.state"
    static let cpuTime = "cpu.time"
    static let vcpuCurrent = "vcpu.current"
    static let balloonCurrent = "balloon.current"
    static let balloonMaximum = "balloon.maximum"
    static let balloonRSS = "balloon.rss"
    static let balloonAvailable = "balloon.available"
    static let netCount = "net.count"
    static let blockCount = "block.count"

    static func net(_ index: Int, _ suffix: String) -> String { "net.\(index).\(suffix)" }
    static func block(_ index: Int, _ suffix: String) -> String { "block.\(index).\(suffix)" }
}

extension DomainStats {
    /// Converts one bulk record. A group counts as reported when any of its fields is present (for NICs and
    /// disks, the `count` field, even when it is 0).
    init(uuid: UUID, name: String, bulk parameters: TypedParameters) {
        self.init(uuid: uuid, name: name)
        if let state = parameters.signed(BulkStatsField.state), let state32 = Int32(exactly: state) {
            self.state = DomainState(libvirtValue: state32)
            sources.state = .bulk
        }
        if let cpuTime = parameters.unsigned(BulkStatsField.cpuTime) {
            cpuTimeNanoseconds = cpuTime
            sources.cpu = .bulk
        }
        if let vcpus = parameters.unsigned(BulkStatsField.vcpuCurrent) {
            virtualCPUCount = Int(exactly: vcpus)
            sources.virtualCPUs = .bulk
        }
        balloon = Balloon(
            currentKiB: parameters.unsigned(BulkStatsField.balloonCurrent),
            maximumKiB: parameters.unsigned(BulkStatsField.balloonMaximum),
            rssKiB: parameters.unsigned(BulkStatsField.balloonRSS),
            availableKiB: parameters.unsigned(BulkStatsField.balloonAvailable)
        )
        if !balloon.isEmpty {
            sources.balloon = .bulk
        }
        if let count = parameters.unsigned(BulkStatsField.netCount) {
            interfaces = (0..<Int(count)).map { index in
                InterfaceStats(
                    name: parameters.string(BulkStatsField.net(index, "name")) ?? "net\(index)",
                    rxBytes: parameters.unsigned(BulkStatsField.net(index, "rx.bytes")),
                    txBytes: parameters.unsigned(BulkStatsField.net(index, "tx.bytes")),
                    rxPackets: parameters.unsigned(BulkStatsField.net(index, "rx.pkts")),
                    txPackets: parameters.unsigned(BulkStatsField.net(index, "tx.pkts"))
                )
            }
            sources.interfaces = .bulk
        }
        if let count = parameters.unsigned(BulkStatsField.blockCount) {
            disks = (0..<Int(count)).map { index in
                DiskStats(
                    name: parameters.string(BulkStatsField.block(index, "name")) ?? "block\(index)",
                    readBytes: parameters.unsigned(BulkStatsField.block(index, "rd.bytes")),
                    writeBytes: parameters.unsigned(BulkStatsField.block(index, "wr.bytes"))
                )
            }
            sources.disks = .bulk
        }
    }
}

/// A bulk record with the domain handle it describes, so the fallback can query the same domain.
struct DomainStatsRecord: Sendable {
    let domain: LibvirtDomain
    var stats: DomainStats
}

extension LibvirtConnection {
    /// One `virConnectGetAllDomainStats` call for all domains (groups state, cpu-total, balloon, vcpu, interface,
    /// block), as reported: a driver that lacks a group leaves its values nil (the test driver reports only state).
    public func allDomainStats() async throws(LibvirtError) -> [DomainStats] {
        try await hop { blocking throws(LibvirtError) in try blocking.allDomainStats() }
    }
}

extension LibvirtConnection.Blocking {
    func allDomainStats() throws(LibvirtError) -> [DomainStats] {
        try bulkStatsRecords().map(\.stats)
    }

    func bulkStatsRecords() throws(LibvirtError) -> [DomainStatsRecord] {
        let connection = self.connection
        return try withConnection("virConnectGetAllDomainStats") { pointer throws(LibvirtError) in
            // libvirt allocates the record list and everything in it; virDomainStatsRecordListFree frees all of it,
            // including one reference per record's domain.
            var records: UnsafeMutablePointer<virDomainStatsRecordPtr?>?
            let flags: UInt32 = 0  // 0 = every domain, active and inactive
            let count = try check(
                virConnectGetAllDomainStats(pointer, BulkStatsField.groups, &records, flags),
                "virConnectGetAllDomainStats",
                subject: connection.uri
            )
            defer { virDomainStatsRecordListFree(records) }
            guard let records else { return [] }
            var result: [DomainStatsRecord] = []
            for index in 0..<Int(count) {
                guard let record = records[index], let domainPointer = record.pointee.dom else { continue }
                // The list's reference goes away with the list; take our own for the handle.
                try check(virDomainRef(domainPointer), "virDomainRef", subject: connection.uri)
                let domain = try LibvirtDomain.adopt(domainPointer, connection: connection)
                let parameters = TypedParameters(record.pointee.params, count: record.pointee.nparams)
                result.append(
                    DomainStatsRecord(
                        domain: domain,
                        stats: DomainStats(uuid: domain.uuid, name: domain.name, bulk: parameters)
                    )
                )
            }
            return result
        }
    }
}
