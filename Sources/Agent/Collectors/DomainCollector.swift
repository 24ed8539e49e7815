import Foundation
import Libvirt
import Wire

/// Every libvirt domain on the host: state, CPU cores in use (Δ cpu time ÷ Δ wall time), memory in use,
/// network and disk rates over all devices. Stats come from the bulk libvirt call with the per-call
/// fallback where the driver returns less (the Libvirt module decides which).
public struct DomainCollector: Collector {
    public var name: String { "domains" }
    public let connection: LibvirtConnection

    /// Raw counters of the previous round, per VM; a VM seen for the first time has no rates yet.
    private var previous: [WireUUID: Counters] = [:]

    struct Counters {
        var time: SampleTime
        var cpuTimeNanoseconds: UInt64?
        var nics: [String: (rx: UInt64, tx: UInt64)]
        var diskRead: UInt64
        var diskWrite: UInt64
    }

    public init(connection: LibvirtConnection) {
        self.connection = connection
    }

    public mutating func collect(at time: SampleTime) async throws -> [VMObservation] {
        let stats = try await connection.collectStats()
        var next: [WireUUID: Counters] = [:]
        var observations: [VMObservation] = []
        observations.reserveCapacity(stats.count)
        for domain in stats {
            let uuid = WireUUID(bytes: withUnsafeBytes(of: domain.uuid.uuid) { Array($0) }) ?? .zero
            var nicTotals: [String: (rx: UInt64, tx: UInt64)] = [:]
            for nic in domain.interfaces {
                nicTotals[nic.name] = (nic.rxBytes ?? 0, nic.txBytes ?? 0)
            }
            let counters = Counters(
                time: time,
                cpuTimeNanoseconds: domain.cpuTimeNanoseconds,
                nics: nicTotals,
                diskRead: domain.disks.reduce(0) { $0 &+ ($1.readBytes ?? 0) },
                diskWrite: domain.disks.reduce(0) { $0 &+ ($1.writeBytes ?? 0) }
            )
            next[uuid] = counters
            let earlier = previous[uuid]
            let seconds = earlier.map { time.seconds(since: $0.time) } ?? 0

            let nics = domain.interfaces.map { nic -> StatusReply.NIC in
                let old = earlier?.nics[nic.name]
                let rx = nic.rxBytes ?? 0
                let tx = nic.txBytes ?? 0
                return StatusReply.NIC(
                    name: nic.name,
                    rxBytes: rx,
                    txBytes: tx,
                    rxBytesPerSecond: old.flatMap { ratePerSecond(from: $0.rx, to: rx, seconds: seconds) } ?? 0,
                    txBytesPerSecond: old.flatMap { ratePerSecond(from: $0.tx, to: tx, seconds: seconds) } ?? 0
                )
            }
            var metrics: VMMetrics?
            if let earlier, seconds > 0 {
                let cpu: Double
                if let now = domain.cpuTimeNanoseconds, let then = earlier.cpuTimeNanoseconds, now >= then {
                    cpu = Double(now - then) / 1e9 / seconds
                } else {
                    cpu = 0
                }
                metrics = VMMetrics(
                    timestampMilliseconds: time.wallClockMilliseconds,
                    cpuCoresInUse: cpu,
                    memoryInUseBytes: Self.memoryInUseKiB(domain) * 1024,
                    networkRxBytesPerSecond: nics.reduce(0) { $0 + $1.rxBytesPerSecond },
                    networkTxBytesPerSecond: nics.reduce(0) { $0 + $1.txBytesPerSecond },
                    diskReadBytesPerSecond: ratePerSecond(
                        from: earlier.diskRead,
                        to: counters.diskRead,
                        seconds: seconds
                    )
                        ?? 0,
                    diskWriteBytesPerSecond: ratePerSecond(
                        from: earlier.diskWrite,
                        to: counters.diskWrite,
                        seconds: seconds
                    ) ?? 0
                )
            }
            observations.append(
                VMObservation(
                    uuid: uuid,
                    name: domain.name,
                    state: VMState(domain.state ?? .noState),
                    virtualCPUs: UInt16(clamping: domain.virtualCPUCount ?? 0),
                    memoryKiB: domain.balloon.maximumKiB ?? domain.balloon.currentKiB ?? 0,
                    metrics: metrics,
                    nics: nics
                )
            )
        }
        previous = next
        return observations
    }

    /// Best memory figure available: resident set, else the balloon's current size, else the maximum.
    static func memoryInUseKiB(_ domain: DomainStats) -> UInt64 {
        domain.balloon.rssKiB ?? domain.balloon.currentKiB ?? domain.balloon.maximumKiB ?? 0
    }
}

extension VMState {
    init(_ state: DomainState) {
        switch state {
        case .noState: self = .noState
        case .running: self = .running
        case .blocked: self = .blocked
        case .paused: self = .paused
        case .shutdown: self = .shuttingDown
        case .shutoff: self = .shutOff
        case .crashed: self = .crashed
        case .pmSuspended: self = .pmSuspended
        }
    }
}
