import Rings

/// Measured power per host, integrated into energy, and an estimate of what the hosts would have used had they
/// never slept. Pure: readings and times come in as values; times are offsets from a monotonic origin.
///
/// Energy is integrated between consecutive readings of a host with the trapezoid rule. An interval longer than
/// `maximumGap` counts only `maximumGap` at the earlier reading's power: readings lost while a BMC was
/// unreachable are not invented.
///
/// The always-on estimate counts the measured energy for intervals where the host was awake at both ends, and
/// for any other interval the host's idle-awake power: the mean of its non-zero awake readings before the interval, or
/// when there are none yet the estimate an earlier run kept (`remember(idleWatts:of:)`), else `defaultIdleWatts`
/// (or, without a default, the measured energy: no saving is claimed for a host never seen awake).
public struct PowerMeter: Sendable {
    public let ringCapacity: Int
    public let maximumGap: Duration
    public let defaultIdleWatts: Double?

    private var meters: [String: HostMeter] = [:]

    public init(ringCapacity: Int, maximumGap: Duration, defaultIdleWatts: Double? = nil) {
        precondition(ringCapacity > 0, "a power meter keeps at least one sample per host")
        precondition(maximumGap > .zero, "a power meter needs a positive maximum gap")
        self.ringCapacity = ringCapacity
        self.maximumGap = maximumGap
        self.defaultIdleWatts = defaultIdleWatts
    }

    /// Adds a BMC reading. A reading not strictly later than the host's latest one (out of order or a
    /// duplicate), or with negative or non-finite watts, is ignored and `false` is returned.
    @discardableResult
    public mutating func record(hostID: String, watts: Double, at time: Duration, awake: Bool) -> Bool {
        guard watts.isFinite, watts >= 0 else { return false }
        let sample = PowerSample(time: time, watts: watts, awake: awake)
        let capacity = ringCapacity
        return meters[hostID, default: HostMeter(capacity: capacity)].record(
            sample,
            maximumGap: maximumGap,
            defaultIdleWatts: defaultIdleWatts
        )
    }

    /// Every host's meter, sorted by host ID.
    public func report(at time: Duration) -> PowerReport {
        let rows = meters.sorted { $0.key < $1.key }.compactMap { hostID, meter -> PowerReport.Host? in
            guard let latest = meter.samples.last else { return nil }
            return PowerReport.Host(
                hostID: hostID,
                latestWatts: latest.watts,
                latestAt: latest.time,
                awake: latest.awake,
                energyKWh: meter.joules / Self.joulesPerKWh,
                alwaysOnKWh: meter.alwaysOnJoules / Self.joulesPerKWh,
                sampleCount: meter.sampleCount,
                age: time - latest.time
            )
        }
        return PowerReport(at: time, hosts: rows)
    }

    /// The host's newest samples (up to `ringCapacity`), oldest first; empty for an unknown host.
    public func samples(of hostID: String) -> [PowerSample] {
        meters[hostID]?.samples.elements() ?? []
    }

    /// The host's idle-awake power estimate: the mean of its awake readings, else what an earlier run measured,
    /// else `defaultIdleWatts`.
    public func idleWatts(of hostID: String) -> Double? {
        meters[hostID]?.idleWatts ?? defaultIdleWatts
    }

    /// The mean of the host's awake readings in this run; nil before the first.
    public func measuredIdleWatts(of hostID: String) -> Double? {
        meters[hostID]?.measuredIdleWatts
    }

    /// Hosts with awake readings in this run and the mean of them: what a later run may `remember`.
    public var measuredIdleWatts: [String: Double] {
        meters.compactMapValues(\.measuredIdleWatts)
    }

    /// What an earlier run measured as the host's idle-awake power: the estimate until the host is read awake in
    /// this one (a host asleep across a manager restart would otherwise count as saving nothing). Ignored unless
    /// finite and not negative.
    public mutating func remember(idleWatts watts: Double, of hostID: String) {
        guard watts.isFinite, watts >= 0 else { return }
        meters[hostID, default: HostMeter(capacity: ringCapacity)].rememberedIdleWatts = watts
    }

    /// Drops a removed host: its samples and energy leave the report.
    public mutating func forget(hostID: String) {
        meters[hostID] = nil
    }

    static let joulesPerKWh = 3_600_000.0
}

/// One host's samples and running sums.
private struct HostMeter: Sendable {
    var samples: RingBuffer<PowerSample>
    var joules = 0.0
    var alwaysOnJoules = 0.0
    var sampleCount = 0
    // The running mean of awake readings lives outside the ring so it survives wrap-around.
    var awakeWattsSum = 0.0
    var awakeCount = 0
    /// An earlier run's estimate, used until this run has an awake reading.
    var rememberedIdleWatts: Double?

    init(capacity: Int) {
        samples = RingBuffer(capacity: capacity)
    }

    var measuredIdleWatts: Double? { awakeCount > 0 ? awakeWattsSum / Double(awakeCount) : nil }

    var idleWatts: Double? { measuredIdleWatts ?? rememberedIdleWatts }

    mutating func record(_ sample: PowerSample, maximumGap: Duration, defaultIdleWatts: Double?) -> Bool {
        if let previous = samples.last {
            guard sample.time > previous.time else { return false }
            let elapsed = sample.time - previous.time
            let measured: Double
            let counted: Duration
            if elapsed > maximumGap {
                // Hold the earlier reading for the gap's allowance; the rest is unknown, not invented.
                counted = maximumGap
                measured = previous.watts * seconds(counted)
            } else {
                counted = elapsed
                measured = (previous.watts + sample.watts) / 2 * seconds(counted)
            }
            joules += measured
            if previous.awake && sample.awake {
                alwaysOnJoules += measured
            } else if let idle = idleWatts ?? defaultIdleWatts {
                alwaysOnJoules += idle * seconds(counted)
            } else {
                alwaysOnJoules += measured
            }
        }
        // Counted after the interval: its estimate uses only the readings up to its start. A host that is up never
        // draws nothing: 0 W is a sensor not updated yet (ipmi_sim's before its first poll, a BMC just started),
        // and as the first measured value it would be recorded as the host's idle power and spoil what later runs
        // count as saved.
        if sample.awake, sample.watts > 0 {
            awakeWattsSum += sample.watts
            awakeCount += 1
        }
        samples.append(sample)
        sampleCount += 1
        return true
    }

    private func seconds(_ duration: Duration) -> Double {
        duration / .seconds(1)
    }
}
