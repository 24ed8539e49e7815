import Foundation
import Synchronization
import Wire

/// One point of the web view's energy chart: the cluster at one instant.
struct EnergySample: Codable, Equatable, Sendable {
    /// Milliseconds since 1970.
    var time: Int64
    /// The sum of the hosts' latest BMC readings (0 when no host has one).
    var watts: Double
    /// Hosts in state active.
    var hostsAwake: Int
    var hosts: Int
    /// Energy saved over what the hosts would have used always on, 0…1, since the manager's first reading; absent
    /// before any energy is measured.
    var savedShare: Double?

    init(time: Int64, watts: Double, hostsAwake: Int, hosts: Int, savedShare: Double?) {
        self.time = time
        self.watts = watts
        self.hostsAwake = hostsAwake
        self.hosts = hosts
        self.savedShare = savedShare
    }

    /// The sample `energy` (what `torpor energy` shows) gives at `date`.
    init(at date: Date, energy: EnergyReply) {
        let used = energy.hosts.reduce(0) { $0 + $1.usedKilowattHours }
        let alwaysOn = energy.hosts.reduce(0) { $0 + $1.alwaysOnKilowattHours }
        self.init(
            time: Int64((date.timeIntervalSince1970 * 1000).rounded()),
            watts: energy.hosts.reduce(0) { $0 + ($1.watts ?? 0) },
            hostsAwake: energy.hosts.count { $0.state == .active },
            hosts: energy.hosts.count,
            savedShare: alwaysOn > 0 ? max(0, min(1, (alwaysOn - used) / alwaysOn)) : nil
        )
    }
}

/// A bounded ring of samples, oldest first: once full, each new sample drops the oldest. Pure, so the chart's data
/// is tested without a clock or a manager.
struct EnergyHistory: Equatable, Sendable {
    let capacity: Int
    private var storage: [EnergySample] = []
    /// Where the oldest sample sits once the ring is full.
    private var start = 0

    init(capacity: Int) {
        precondition(capacity > 0, "an energy history holds at least one sample")
        self.capacity = capacity
        storage.reserveCapacity(min(capacity, 4096))
    }

    var count: Int { storage.count }

    mutating func append(_ sample: EnergySample) {
        if storage.count < capacity {
            storage.append(sample)
        } else {
            storage[start] = sample
            start = (start + 1) % capacity
        }
    }

    /// Every sample held, oldest first.
    var samples: [EnergySample] { Array(storage[start...] + storage[..<start]) }

    /// The samples taken after `time` (milliseconds since 1970), oldest first: what a page that has the rest asks.
    func samples(after time: Int64) -> [EnergySample] { samples.filter { $0.time > time } }
}

/// The history shared between the service that samples and the routes that read it.
final class EnergyHistoryRecorder: Sendable {
    let interval: Duration
    private let history: Mutex<EnergyHistory>

    init(capacity: Int, interval: Duration) {
        self.interval = interval
        history = Mutex(EnergyHistory(capacity: capacity))
    }

    var capacity: Int { history.withLock { $0.capacity } }

    func record(_ sample: EnergySample) { history.withLock { $0.append(sample) } }

    func samples(after time: Int64? = nil) -> [EnergySample] {
        history.withLock { history in time.map { history.samples(after: $0) } ?? history.samples }
    }
}
