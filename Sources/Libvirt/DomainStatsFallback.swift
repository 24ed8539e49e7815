extension LibvirtConnection {
    /// Stats for every domain: one bulk call, then per-domain calls for whatever the bulk call left out (the test
    /// driver, for one, reports only the state in bulk). `DomainStats.sources` tells which call supplied each
    /// group; failures of per-call fallbacks land in `DomainStats.fallbackErrors` instead of failing the whole
    /// collection.
    public func collectStats() async throws(LibvirtError) -> [DomainStats] {
        try await hop { blocking throws(LibvirtError) in try blocking.collectStats() }
    }
}

extension LibvirtConnection.Blocking {
    func collectStats() throws(LibvirtError) -> [DomainStats] {
        let blocking = self
        // One job: every domain's calls run back to back, and nested blocking calls run inline on the thread.
        return try connection.executor.runSync { () throws(LibvirtError) in
            var records: [DomainStatsRecord]
            do throws(LibvirtError) {
                records = try blocking.bulkStatsRecords()
            } catch {
                // A driver without the bulk API: start from nothing and let the fallback fill everything.
                guard error.errorCode == .noSupport else { throw error }
                records = try blocking.allDomains().map { domain in
                    DomainStatsRecord(domain: domain, stats: DomainStats(uuid: domain.uuid, name: domain.name))
                }
            }
            let cache = blocking.connection.deviceCache
            let stats = records.map { record in
                var stats = record.stats
                DomainStatsFallback.fill(&stats, from: record.domain.blocking, devices: cache)
                return stats
            }
            cache.keepOnly(Set(stats.map(\.uuid)))
            return stats
        }
    }
}

/// Fills the gaps of a bulk `DomainStats` with per-domain calls. Runs on the executor thread.
enum DomainStatsFallback {
    /// `devices` keeps each running domain's NICs and disks between samples, so its XML is read once per start.
    static func fill(
        _ stats: inout DomainStats,
        from domain: LibvirtDomain.Blocking,
        devices cache: DomainDeviceCache
    ) {
        fillFromInfo(&stats, domain)
        // Device and memory counters exist only while the domain runs; asking otherwise only yields errors.
        let isActive = attempt(into: &stats) { () throws(LibvirtError) in try domain.isActive() }
        guard isActive == true else { return }
        fillFromMemoryStats(&stats, domain)
        if stats.sources.interfaces == nil || stats.sources.disks == nil {
            guard let devices = devices(of: domain, into: &stats, cache: cache) else { return }
            fillInterfaces(&stats, domain, devices)
            fillDisks(&stats, domain, devices)
        }
    }

    /// The domain's NICs and disks: cached while its id stays the same, else read from its XML and cached.
    private static func devices(
        of domain: LibvirtDomain.Blocking,
        into stats: inout DomainStats,
        cache: DomainDeviceCache
    ) -> DomainXMLDevices? {
        let uuid = domain.domain.uuid
        let id = attempt(into: &stats) { () throws(LibvirtError) in try domain.id() }
        if let id, let cached = cache.devices(of: uuid, id: id) { return cached }
        let xml = attempt(into: &stats) { () throws(LibvirtError) in try domain.xmlDescription() }
        guard let xml else { return nil }
        let devices = DomainXMLDevices(domainXML: xml)
        // Without an id there is nothing telling a restart apart: such a domain is read again every time.
        if let id { cache.store(devices, of: uuid, id: id) }
        return devices
    }

    /// `virDomainGetInfo`: state, CPU time, vCPU count, current and maximum memory.
    private static func fillFromInfo(_ stats: inout DomainStats, _ domain: LibvirtDomain.Blocking) {
        let needsInfo =
            stats.state == nil || stats.cpuTimeNanoseconds == nil || stats.virtualCPUCount == nil
            || stats.balloon.currentKiB == nil || stats.balloon.maximumKiB == nil
        guard needsInfo else { return }
        let info = attempt(into: &stats) { () throws(LibvirtError) in try domain.info() }
        guard let info else { return }
        if stats.state == nil {
            stats.state = info.state
            stats.sources.state = .perCall
        }
        if stats.cpuTimeNanoseconds == nil {
            stats.cpuTimeNanoseconds = info.cpuTimeNanoseconds
            stats.sources.cpu = .perCall
        }
        if stats.virtualCPUCount == nil {
            stats.virtualCPUCount = info.virtualCPUCount
            stats.sources.virtualCPUs = .perCall
        }
        if stats.balloon.currentKiB == nil {
            stats.balloon.currentKiB = info.memoryKiB
            stats.sources.balloon = .perCall
        }
        if stats.balloon.maximumKiB == nil {
            stats.balloon.maximumKiB = info.maxMemoryKiB
            stats.sources.balloon = .perCall
        }
    }

    /// `virDomainMemoryStats`: rss, available, and the balloon size if still missing.
    private static func fillFromMemoryStats(_ stats: inout DomainStats, _ domain: LibvirtDomain.Blocking) {
        guard stats.balloon.rssKiB == nil || stats.balloon.availableKiB == nil else { return }
        let memory = attempt(into: &stats) { () throws(LibvirtError) in try domain.memoryStats() }
        guard let memory else { return }
        let before = stats.balloon
        stats.balloon.rssKiB = stats.balloon.rssKiB ?? memory.rssKiB
        stats.balloon.availableKiB = stats.balloon.availableKiB ?? memory.availableKiB
        stats.balloon.currentKiB = stats.balloon.currentKiB ?? memory.actualBalloonKiB
        if stats.balloon != before {
            stats.sources.balloon = .perCall
        }
    }

    /// `virDomainInterfaceStats` for each `<interface>` of the domain XML.
    private static func fillInterfaces(
        _ stats: inout DomainStats,
        _ domain: LibvirtDomain.Blocking,
        _ devices: DomainXMLDevices
    ) {
        guard stats.sources.interfaces == nil else { return }
        for device in devices.interfaces.compactMap(\.statsName) {
            let counters = attempt(into: &stats) { () throws(LibvirtError) in
                try domain.interfaceStats(device: device)
            }
            if let counters {
                stats.interfaces.append(counters)
            }
        }
        stats.sources.interfaces = stats.interfaces.isEmpty ? nil : .perCall
    }

    /// `virDomainBlockStats` for each `<disk>` of the domain XML.
    private static func fillDisks(
        _ stats: inout DomainStats,
        _ domain: LibvirtDomain.Blocking,
        _ devices: DomainXMLDevices
    ) {
        guard stats.sources.disks == nil else { return }
        // Removable media (cdrom, floppy) is often empty, and an empty drive only yields an error.
        for device in devices.disks.filter({ $0.kind != "cdrom" && $0.kind != "floppy" }).map(\.targetDevice) {
            let counters = attempt(into: &stats) { () throws(LibvirtError) in
                try domain.blockStats(device: device)
            }
            if let counters {
                stats.disks.append(counters)
            }
        }
        stats.sources.disks = stats.disks.isEmpty ? nil : .perCall
    }

    /// Runs one fallback call; a failure is kept in `fallbackErrors` and yields nil.
    private static func attempt<Value>(
        into stats: inout DomainStats,
        _ call: () throws(LibvirtError) -> Value
    ) -> Value? {
        do throws(LibvirtError) {
            return try call()
        } catch {
            stats.fallbackErrors.append(error)
            return nil
        }
    }
}
