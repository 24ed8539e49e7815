/// The realistic profile's host power states: how long and how much sleeping and waking cost, what a sleeping host
/// draws, and how many empty hosts the energy saver keeps awake.
public struct PowerManagement: Sendable, Hashable {
    /// Suspend to RAM (seconds) or shutdown and boot (minutes).
    public enum Method: String, Sendable, Hashable, CaseIterable {
        case suspend
        case shutdown
    }

    /// Going to sleep: the host draws its idle power meanwhile.
    public var sleepSeconds: Double
    /// Waking, wake driver and boot included: idle power meanwhile, usable from the next interval.
    public var wakeSeconds: Double
    /// What a sleeping host draws (suspended: RAM refresh and BMC; off: the BMC).
    public var standbyWatts: Double
    /// Empty hosts kept awake for overload relief and new VMs.
    public var reserveHosts: Int
    /// A host is put to sleep only after this long awake, and woken only after this long asleep.
    public var minimumAwakeSeconds: Double
    public var minimumAsleepSeconds: Double

    public init(
        sleepSeconds: Double,
        wakeSeconds: Double,
        standbyWatts: Double,
        reserveHosts: Int = 1,
        minimumAwakeSeconds: Double = 600,
        minimumAsleepSeconds: Double = 300
    ) {
        self.sleepSeconds = sleepSeconds
        self.wakeSeconds = wakeSeconds
        self.standbyWatts = standbyWatts
        self.reserveHosts = reserveHosts
        self.minimumAwakeSeconds = minimumAwakeSeconds
        self.minimumAsleepSeconds = minimumAsleepSeconds
    }

    /// Suspend: 10 s down, 20 s up, 5 W asleep. Shutdown: 60 s down, 180 s up (POST and boot), 3 W off.
    public static func defaults(for method: Method) -> PowerManagement {
        switch method {
        case .suspend: PowerManagement(sleepSeconds: 10, wakeSeconds: 20, standbyWatts: 5)
        case .shutdown: PowerManagement(sleepSeconds: 60, wakeSeconds: 180, standbyWatts: 3)
        }
    }
}
