/// Energy used by each host and by the cluster, against what the hosts would have used had they never slept.
public struct PowerReport: Sendable, Hashable {
    /// One host's meter. Energies cover the time from its first to its latest reading.
    public struct Host: Sendable, Hashable {
        public var hostID: String
        public var latestWatts: Double
        /// When the latest reading was taken (offset from the meter's origin).
        public var latestAt: Duration
        /// Whether the host was awake at the latest reading.
        public var awake: Bool
        public var energyKWh: Double
        /// The estimate had the host never slept.
        public var alwaysOnKWh: Double
        /// Readings accepted since the host was first seen (the ring keeps only the newest).
        public var sampleCount: Int
        /// How old the latest reading is at the report's time.
        public var age: Duration

        public var savedKWh: Double { alwaysOnKWh - energyKWh }

        public init(
            hostID: String,
            latestWatts: Double,
            latestAt: Duration,
            awake: Bool,
            energyKWh: Double,
            alwaysOnKWh: Double,
            sampleCount: Int,
            age: Duration
        ) {
            self.hostID = hostID
            self.latestWatts = latestWatts
            self.latestAt = latestAt
            self.awake = awake
            self.energyKWh = energyKWh
            self.alwaysOnKWh = alwaysOnKWh
            self.sampleCount = sampleCount
            self.age = age
        }
    }

    /// When the report was made (offset from the meter's origin).
    public var at: Duration
    /// Sorted by host ID.
    public var hosts: [Host]

    public init(at: Duration, hosts: [Host]) {
        self.at = at
        self.hosts = hosts
    }

    public var energyKWh: Double { hosts.reduce(0) { $0 + $1.energyKWh } }
    public var alwaysOnKWh: Double { hosts.reduce(0) { $0 + $1.alwaysOnKWh } }
    public var savedKWh: Double { alwaysOnKWh - energyKWh }
    /// Saved energy as a percentage of the always-on estimate; 0 when that estimate is 0.
    public var savedPercent: Double { alwaysOnKWh > 0 ? savedKWh / alwaysOnKWh * 100 : 0 }
}
