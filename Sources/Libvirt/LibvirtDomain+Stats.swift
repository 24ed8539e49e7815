import CLibvirt

/// What `virDomainMemoryStats` reports, KiB; nil for tags the driver did not return.
public struct MemoryStats: Sendable, Equatable {
    /// The balloon's current size (`VIR_DOMAIN_MEMORY_STAT_ACTUAL_BALLOON`).
    public var actualBalloonKiB: UInt64?
    /// Resident set size of the guest process on the host (`VIR_DOMAIN_MEMORY_STAT_RSS`).
    public var rssKiB: UInt64?
    /// Memory usable by the guest OS in total (`VIR_DOMAIN_MEMORY_STAT_AVAILABLE`).
    public var availableKiB: UInt64?
    /// Memory the guest leaves unused (`VIR_DOMAIN_MEMORY_STAT_UNUSED`).
    public var unusedKiB: UInt64?
    /// Memory the guest could use without swapping (`VIR_DOMAIN_MEMORY_STAT_USABLE`).
    public var usableKiB: UInt64?

    public init(
        actualBalloonKiB: UInt64? = nil,
        rssKiB: UInt64? = nil,
        availableKiB: UInt64? = nil,
        unusedKiB: UInt64? = nil,
        usableKiB: UInt64? = nil
    ) {
        self.actualBalloonKiB = actualBalloonKiB
        self.rssKiB = rssKiB
        self.availableKiB = availableKiB
        self.unusedKiB = unusedKiB
        self.usableKiB = usableKiB
    }
}

extension LibvirtDomain {
    /// Balloon and memory counters of a running domain (`virDomainMemoryStats`).
    public func memoryStats() async throws(LibvirtError) -> MemoryStats {
        try await hop { blocking throws(LibvirtError) in try blocking.memoryStats() }
    }

    /// Counters of one NIC of a running domain, named by its host-side device or MAC (`virDomainInterfaceStats`).
    public func interfaceStats(device: String) async throws(LibvirtError) -> InterfaceStats {
        try await hop { blocking throws(LibvirtError) in try blocking.interfaceStats(device: device) }
    }

    /// Counters of one disk of a running domain, named by its target, e.g. "vda" (`virDomainBlockStats`).
    public func blockStats(device: String) async throws(LibvirtError) -> DiskStats {
        try await hop { blocking throws(LibvirtError) in try blocking.blockStats(device: device) }
    }
}

extension LibvirtDomain.Blocking {
    func memoryStats() throws(LibvirtError) -> MemoryStats {
        let name = domain.name
        return try withDomain("virDomainMemoryStats") { pointer throws(LibvirtError) in
            // The caller provides the array; libvirt fills the first `count` entries.
            let capacity = Int(VIR_DOMAIN_MEMORY_STAT_NR.rawValue)
            var entries = [virDomainMemoryStatStruct](repeating: virDomainMemoryStatStruct(), count: capacity)
            let count = try check(
                virDomainMemoryStats(pointer, &entries, UInt32(capacity), 0),
                "virDomainMemoryStats",
                subject: name
            )
            var stats = MemoryStats()
            for entry in entries.prefix(Int(count)) {
                switch UInt32(bitPattern: entry.tag) {
                case VIR_DOMAIN_MEMORY_STAT_ACTUAL_BALLOON.rawValue: stats.actualBalloonKiB = entry.val
                case VIR_DOMAIN_MEMORY_STAT_RSS.rawValue: stats.rssKiB = entry.val
                case VIR_DOMAIN_MEMORY_STAT_AVAILABLE.rawValue: stats.availableKiB = entry.val
                case VIR_DOMAIN_MEMORY_STAT_UNUSED.rawValue: stats.unusedKiB = entry.val
                case VIR_DOMAIN_MEMORY_STAT_USABLE.rawValue: stats.usableKiB = entry.val
                default: break
                }
            }
            return stats
        }
    }

    func interfaceStats(device: String) throws(LibvirtError) -> InterfaceStats {
        let name = domain.name
        return try withDomain("virDomainInterfaceStats") { pointer throws(LibvirtError) in
            var counters = virDomainInterfaceStatsStruct()
            let size = MemoryLayout<virDomainInterfaceStatsStruct>.size
            try check(
                virDomainInterfaceStats(pointer, device, &counters, size),
                "virDomainInterfaceStats",
                subject: "\(name) \(device)"
            )
            return InterfaceStats(
                name: device,
                rxBytes: counter(counters.rx_bytes),
                txBytes: counter(counters.tx_bytes),
                rxPackets: counter(counters.rx_packets),
                txPackets: counter(counters.tx_packets)
            )
        }
    }

    func blockStats(device: String) throws(LibvirtError) -> DiskStats {
        let name = domain.name
        return try withDomain("virDomainBlockStats") { pointer throws(LibvirtError) in
            var counters = virDomainBlockStatsStruct()
            let size = MemoryLayout<virDomainBlockStatsStruct>.size
            try check(
                virDomainBlockStats(pointer, device, &counters, size),
                "virDomainBlockStats",
                subject: "\(name) \(device)"
            )
            return DiskStats(
                name: device,
                readBytes: counter(counters.rd_bytes),
                writeBytes: counter(counters.wr_bytes)
            )
        }
    }
}

/// The per-call stats structs use -1 for "not supported by this hypervisor".
private func counter(_ value: Int64) -> UInt64? {
    value >= 0 ? UInt64(value) : nil
}
