import Energy
import Foundation
import IPMIMonitoring
import Logging

/// Reads every host's BMC power sensors each `power_reading_interval` and keeps what they said: watts in ring
/// buffers, energy per host and the always-on estimate (`Energy.PowerMeter`). BMCs are read in parallel and off
/// the cooperative pool (`IPMIPowerReader`); a failing BMC marks only its own host, logged once per new error.
public actor PowerMonitor {
    /// One host's power as `torpor energy` and `torpor hosts` show it.
    public struct HostPower: Sendable, Equatable {
        public var watts: Double?
        public var sinceReading: Duration?
        public var usedKWh: Double
        public var alwaysOnKWh: Double
        /// The latest read's failure; nil once a read succeeds again.
        public var error: String?
    }

    private var meter: PowerMeter
    private var errors: [String: String] = [:]
    private var firstReading: ContinuousClock.Instant?
    private let origin: ContinuousClock.Instant
    private var sources: [String: HostWakeConfiguration.BMCAccess]
    private let sdrCacheDirectory: String
    private let reader = IPMIPowerReader()
    private let logger: Logger

    public init(
        sources: [String: HostWakeConfiguration.BMCAccess],
        sdrCacheDirectory: String,
        interval: Duration,
        idleWatts: Double?,
        origin: ContinuousClock.Instant = .now,
        logger: Logger
    ) {
        self.sources = sources
        hasSources = !sources.isEmpty
        self.sdrCacheDirectory = sdrCacheDirectory
        self.origin = origin
        self.logger = logger
        // An hour of readings at the interval (at most 3,600 per host); a missed read or two is bridged, a BMC
        // silent for longer is not invented.
        let perHour = Int(Duration.seconds(3600) / interval)
        meter = PowerMeter(
            ringCapacity: min(3600, max(60, perHour)),
            maximumGap: interval * 3,
            defaultIdleWatts: idleWatts
        )
    }

    /// The manager's BMC access per host, from the `hosts:` section.
    public init(configuration: ManagerConfiguration, logger: Logger) {
        self.init(
            sources: configuration.hostWake.compactMapValues(\.bmc),
            sdrCacheDirectory: configuration.energy.sdrCacheDirectory,
            interval: configuration.energy.powerReadingInterval,
            idleWatts: configuration.energy.idleWatts,
            logger: logger
        )
    }

    /// Whether any host had a BMC to read at the start.
    public nonisolated let hasSources: Bool

    /// Idle-awake watts last handed out to be recorded, per host.
    private var recordedIdleWatts: [String: Double] = [:]

    /// What an earlier run measured (`ManagerStore.idleWatts()`), for the hosts that have a BMC here: each one's
    /// estimate until it is read awake in this run.
    public func remember(idleWatts: [String: Double]) {
        for (host, watts) in idleWatts where sources[host] != nil {
            meter.remember(idleWatts: watts, of: host)
            recordedIdleWatts[host] = watts
        }
    }

    /// The hosts whose measured idle-awake watts were never handed out, and with `changes` those that moved by at
    /// least `minimumChange` since, with the new values; they count as recorded from now on.
    public func idleWattsToRecord(changes: Bool, minimumChange: Double = 1) -> [String: Double] {
        var changed: [String: Double] = [:]
        for (host, watts) in meter.measuredIdleWatts {
            if let recorded = recordedIdleWatts[host] {
                guard changes, abs(recorded - watts) >= minimumChange else { continue }
            }
            changed[host] = watts
        }
        recordedIdleWatts.merge(changed) { _, new in new }
        return changed
    }

    /// Values handed out by `idleWattsToRecord` that could not be written: handed out again next time.
    public func notRecorded(_ idleWatts: [String: Double]) {
        for host in idleWatts.keys { recordedIdleWatts[host] = nil }
    }

    /// A host retired with `torpor host remove`: its BMC is no longer read and `torpor energy` no longer lists it
    /// (until a restart, should manager.yaml still name it).
    public func forget(_ host: String) {
        guard sources.removeValue(forKey: host) != nil else { return }
        meter.forget(hostID: host)
        errors[host] = nil
        recordedIdleWatts[host] = nil
        logger.notice("host removed: its BMC is no longer read", metadata: [.host: "\(host)"])
    }

    /// BMC reads in flight at once (each blocks a thread of its own for up to the session timeout).
    static let maximumConcurrentReads = 32

    /// One round of readings. `awake` holds the hosts that are up right now (their agent is connected): their
    /// readings feed the idle estimate, the others' are standby power.
    public func sample(awake: Set<String>) async {
        let reader = self.reader
        let directory = sdrCacheDirectory
        // At most `maximumConcurrentReads` at once: each read holds a thread until its BMC answers or times out.
        let results = await withTaskGroup(of: (String, Result<Double, ReadingFailure>).self) { group in
            var pending = sources.makeIterator()
            func startNext() {
                guard let (host, bmc) = pending.next() else { return }
                group.addTask { (host, await Self.read(bmc, sdrCacheDirectory: directory, reader: reader)) }
            }
            for _ in 0..<Self.maximumConcurrentReads { startNext() }
            var results: [(String, Result<Double, ReadingFailure>)] = []
            for await result in group {
                results.append(result)
                startNext()
            }
            return results
        }
        let now = ContinuousClock.now
        for (host, result) in results {
            switch result {
            case .success(let watts):
                if firstReading == nil { firstReading = now }
                meter.record(hostID: host, watts: watts, at: now - origin, awake: awake.contains(host))
                if errors.removeValue(forKey: host) != nil {
                    logger.notice("power readings are back", metadata: [.host: "\(host)"])
                }
            case .failure(let failure):
                if errors[host] != failure.description {
                    logger.warning(
                        "cannot read the host's power",
                        metadata: [.host: "\(host)", .error: "\(failure.description)"]
                    )
                }
                errors[host] = failure.description
            }
        }
    }

    /// Every host with a BMC, at `now`; and how long the readings cover.
    public func snapshot(at now: ContinuousClock.Instant) -> (measured: Duration, hosts: [String: HostPower]) {
        let report = meter.report(at: now - origin)
        var hosts: [String: HostPower] = [:]
        for host in sources.keys {
            let row = report.hosts.first { $0.hostID == host }
            hosts[host] = HostPower(
                watts: row?.latestWatts,
                sinceReading: row?.age,
                usedKWh: row?.energyKWh ?? 0,
                alwaysOnKWh: row?.alwaysOnKWh ?? 0,
                error: errors[host]
            )
        }
        return (firstReading.map { now - $0 } ?? .zero, hosts)
    }

    struct ReadingFailure: Error, CustomStringConvertible {
        let description: String
    }

    /// The sum of the BMC's sensors in watts (a host with two supplies has two). The password is read from its
    /// file at every read, so a rotated password is picked up, and it never leaves memory.
    static func read(
        _ bmc: HostWakeConfiguration.BMCAccess,
        sdrCacheDirectory: String,
        reader: IPMIPowerReader
    ) async -> Result<Double, ReadingFailure> {
        let password: String
        do {
            password = try String(contentsOfFile: bmc.passwordFile, encoding: .utf8)
                .trimmingCharacters(in: .newlines)
        } catch {
            return .failure(
                ReadingFailure(description: "cannot read the BMC password file \(bmc.passwordFile): \(error)")
            )
        }
        let target = IPMITarget(
            host: bmc.address,
            user: bmc.user,
            password: password,
            sdrCacheDirectory: sdrCacheDirectory
        )
        do {
            let readings = try await reader.readPower(target)
            return .success(readings.reduce(0) { $0 + $1.watts })
        } catch {
            return .failure(ReadingFailure(description: error.description))
        }
    }
}
