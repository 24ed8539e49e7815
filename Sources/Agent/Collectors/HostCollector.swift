import Foundation

/// The host itself, read from `/proc` under a configurable root (so tests can point it at a fixture tree):
/// cores and CPU in use from `proc/stat`, memory from `proc/meminfo`, NIC traffic from `proc/net/dev`.
public struct HostCollector: Collector {
    public struct Output: Sendable, Hashable {
        public var cores: Int
        public var memoryTotalBytes: UInt64
        public var memoryInUseBytes: UInt64
        /// Cores busy since the previous round; nil on the first round.
        public var cpuCoresInUse: Double?
        public var networkRxBytesPerSecond: Double?
        public var networkTxBytesPerSecond: Double?
    }

    public enum CollectError: Error, CustomStringConvertible, Equatable {
        case unreadable(path: String)
        case malformed(path: String, reason: String)

        public var description: String {
            switch self {
            case .unreadable(let path): "cannot read \(path)"
            case .malformed(let path, let reason): "\(path): \(reason)"
            }
        }
    }

    public var name: String { "host" }
    public private(set) var procRoot: String
    /// Interfaces whose traffic counts as the host's; empty means every interface except `lo`.
    public let interfaces: Set<String>

    private var previous: (time: SampleTime, cpu: CPUTimes, rx: UInt64, tx: UInt64)?

    public init(procRoot: String = "/", interfaces: Set<String> = []) {
        self.procRoot = procRoot
        self.interfaces = interfaces
    }

    /// The same collector reading another root, keeping its previous reading (tests use fixture trees).
    init(copying other: HostCollector, procRoot: String) {
        self = other
        self.procRoot = procRoot
    }

    public mutating func collect(at time: SampleTime) async throws -> Output {
        let stat = try read("proc/stat")
        let (cpu, cores) = try Self.parseStat(stat, path: path("proc/stat"))
        let (total, available) = try Self.parseMeminfo(try read("proc/meminfo"), path: path("proc/meminfo"))
        let (rx, tx) = Self.parseNetDev((try? read("proc/net/dev")) ?? "", interfaces: interfaces)

        var output = Output(
            cores: cores,
            memoryTotalBytes: total,
            memoryInUseBytes: total - min(available, total),
            cpuCoresInUse: nil,
            networkRxBytesPerSecond: nil,
            networkTxBytesPerSecond: nil
        )
        if let previous {
            let busy = cpu.busy &- previous.cpu.busy
            let all = cpu.total &- previous.cpu.total
            if cpu.total > previous.cpu.total, cpu.busy >= previous.cpu.busy, all > 0 {
                output.cpuCoresInUse = Double(cores) * Double(busy) / Double(all)
            }
            let seconds = time.seconds(since: previous.time)
            output.networkRxBytesPerSecond = ratePerSecond(from: previous.rx, to: rx, seconds: seconds)
            output.networkTxBytesPerSecond = ratePerSecond(from: previous.tx, to: tx, seconds: seconds)
        }
        previous = (time, cpu, rx, tx)
        return output
    }

    struct CPUTimes: Hashable {
        var busy: UInt64
        var total: UInt64
    }

    private func path(_ relative: String) -> String {
        procRoot.hasSuffix("/") ? procRoot + relative : procRoot + "/" + relative
    }

    private func read(_ relative: String) throws -> String {
        let path = path(relative)
        guard let text = ProcFile.read(path) else { throw CollectError.unreadable(path: path) }
        return text
    }

    /// The aggregate `cpu` line (user nice system idle iowait irq softirq steal) and the number of `cpuN` lines.
    static func parseStat(_ text: String, path: String) throws -> (CPUTimes, Int) {
        var times: CPUTimes?
        var cores = 0
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let label = fields.first, label.hasPrefix("cpu") else { continue }
            if label == "cpu" {
                let values = fields.dropFirst().prefix(8).compactMap { UInt64($0) }
                guard values.count >= 4 else { throw CollectError.malformed(path: path, reason: "short cpu line") }
                let idle = values[3] + (values.count > 4 ? values[4] : 0)
                let total = values.reduce(0, +)
                times = CPUTimes(busy: total - idle, total: total)
            } else {
                cores += 1
            }
        }
        guard let times else { throw CollectError.malformed(path: path, reason: "no cpu line") }
        return (times, max(cores, 1))
    }

    /// MemTotal and MemAvailable in bytes.
    static func parseMeminfo(_ text: String, path: String) throws -> (UInt64, UInt64) {
        var total: UInt64?
        var available: UInt64?
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let kib = UInt64(fields[1]) else { continue }
            if fields[0] == "MemTotal:" { total = kib * 1024 }
            if fields[0] == "MemAvailable:" { available = kib * 1024 }
        }
        guard let total, let available else {
            throw CollectError.malformed(path: path, reason: "MemTotal or MemAvailable missing")
        }
        return (total, available)
    }

    /// Sum of received and transmitted bytes over the selected interfaces.
    static func parseNetDev(_ text: String, interfaces: Set<String>) -> (UInt64, UInt64) {
        var rx: UInt64 = 0
        var tx: UInt64 = 0
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            if interfaces.isEmpty ? name == "lo" : !interfaces.contains(name) { continue }
            let fields = line[line.index(after: colon)...].split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 9, let received = UInt64(fields[0]), let sent = UInt64(fields[8]) else { continue }
            rx &+= received
            tx &+= sent
        }
        return (rx, tx)
    }
}
