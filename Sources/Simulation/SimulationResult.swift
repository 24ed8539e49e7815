/// What a run measured: CloudSim's metrics and a record per control interval for plots.
public struct SimulationResult: Sendable, Hashable {
    /// One control interval.
    public struct Interval: Sendable, Hashable {
        /// Hosts with at least one VM after the interval's migrations.
        public var hostsOn: Int
        /// Mean power over the interval, watts.
        public var watts: Double
        /// Hosts whose VMs asked for more CPU than they got at some point in the interval.
        public var hostsViolating: Int
        /// Migrations decided at the start of the interval.
        public var migrations: Int
        /// Hosts the overload detector flagged at the start of the interval.
        public var hostsOverloaded: Int
        /// Hosts that were off and received a VM.
        public var hostsWoken: Int

        public init(
            hostsOn: Int,
            watts: Double,
            hostsViolating: Int,
            migrations: Int,
            hostsOverloaded: Int = 0,
            hostsWoken: Int = 0
        ) {
            self.hostsOn = hostsOn
            self.watts = watts
            self.hostsViolating = hostsViolating
            self.migrations = migrations
            self.hostsOverloaded = hostsOverloaded
            self.hostsWoken = hostsWoken
        }
    }

    public var policy: String
    public var profile: Scenario.Profile
    public var hostCount: Int
    public var vmCount: Int
    public var intervalSeconds: Double
    public var energyKWh: Double
    /// SLA violation time per active host: time hosts spent at 100 % CPU (asked more than they had) ÷ time hosts
    /// were active.
    public var slatah: Double
    /// Performance degradation due to migration: CPU demand lost to migrations ÷ CPU demand requested.
    public var pdm: Double
    public var migrations: Int
    public var intervals: [Interval]
    /// VMs that left the simulation as CloudSim's finished ones (`Scenario.followsCloudSimCode`).
    public var vmsFinished: Int

    public init(
        policy: String,
        profile: Scenario.Profile,
        hostCount: Int,
        vmCount: Int,
        intervalSeconds: Double,
        energyKWh: Double,
        slatah: Double,
        pdm: Double,
        migrations: Int,
        intervals: [Interval],
        vmsFinished: Int = 0
    ) {
        self.policy = policy
        self.profile = profile
        self.hostCount = hostCount
        self.vmCount = vmCount
        self.intervalSeconds = intervalSeconds
        self.energyKWh = energyKWh
        self.slatah = slatah
        self.pdm = pdm
        self.migrations = migrations
        self.intervals = intervals
        self.vmsFinished = vmsFinished
    }

    /// SLA violation: SLATAH × PDM.
    public var slav: Double { slatah * pdm }
    /// Energy and SLA violation together: energy (kWh) × SLAV.
    public var esv: Double { energyKWh * slav }
    /// The most hosts on in any interval.
    public var peakHostsOn: Int { intervals.map(\.hostsOn).max() ?? 0 }
    /// Hosts switched on by migrations over the run.
    public var hostsWoken: Int { intervals.reduce(0) { $0 + $1.hostsWoken } }
    /// Hosts on averaged over the intervals.
    public var meanHostsOn: Double {
        intervals.isEmpty ? 0 : Double(intervals.reduce(0) { $0 + $1.hostsOn }) / Double(intervals.count)
    }
}
