import Placement

/// The simulated cluster: host types and the hosts built from them, VM types and how VMs get them, and the profile
/// that says which physical effects are modelled.
public struct Scenario: Sendable, Hashable {
    public struct HostType: Sendable, Hashable {
        public var name: String
        public var cores: Int
        /// Capacity of one core; a VM's single vCPU can use at most one core.
        public var mipsPerCore: Double
        public var memoryBytes: Double
        public var bandwidthBytesPerSecond: Double
        public var power: HostPowerModel

        public init(
            name: String,
            cores: Int,
            mipsPerCore: Double,
            memoryBytes: Double,
            bandwidthBytesPerSecond: Double,
            power: HostPowerModel
        ) {
            self.name = name
            self.cores = cores
            self.mipsPerCore = mipsPerCore
            self.memoryBytes = memoryBytes
            self.bandwidthBytesPerSecond = bandwidthBytesPerSecond
            self.power = power
        }

        public var mips: Double { Double(cores) * mipsPerCore }
    }

    public struct VMType: Sendable, Hashable {
        public var mips: Double
        public var memoryBytes: Double

        public init(mips: Double, memoryBytes: Double) {
            self.mips = mips
            self.memoryBytes = memoryBytes
        }
    }

    public enum Profile: String, Sendable, Hashable, CaseIterable {
        /// Beloglazov & Buyya in CloudSim: CPU-only feasibility, an idle host is off (0 W) and switching is free
        /// and instant, migrations take RAM ÷ (bandwidth / 2) and cost the VM 10 % of its demand meanwhile.
        case cloudsim
        /// Hosts sleep and wake with latency and energy (`powerManagement`), an awake empty host draws its idle
        /// power, RAM is a constraint for Torpor's policies, and a host's migrations share its link one after
        /// another, each taking memory ÷ bandwidth.
        case realistic
    }

    public var profile: Profile
    /// The control interval: one trace value per interval.
    public var intervalSeconds: Double
    public var hostTypes: [HostType]
    /// Index into `hostTypes`, one per host.
    public var hosts: [Int]
    /// Assigned by contiguous equal shares of the sorted VM list: the first quarter gets the first of four types.
    public var vmTypes: [VMType]
    /// Share of its demand a migrating VM still gets (CloudSim: 0.9).
    public var migrationPerformance: Double
    /// Sleep and wake in the realistic profile.
    public var powerManagement: PowerManagement
    /// CloudSim profile only: run as CloudSim 3.0.3's code ran the reference figures, where it departs from the
    /// experiment the traces' README (and the paper) describes. Three departures, all in its code:
    /// - a VM asking for no CPU at an interval's start and none at the next sample is taken for finished and
    ///   leaves for good (`HostDynamicWorkload.getCompletedVms`; Cloudslab/cloudsim#64, #159): half the VMs of a day;
    /// - PABFD prices a host by its power with the VM on the plan so far minus its power measured at the interval's
    ///   start (`findHostForVm`), not minus its power on the plan so far;
    /// - a host that received VMs from an overloaded host may be evacuated in the same interval (the list meant to
    ///   keep it out is empty), moving those VMs twice.
    /// Off: every VM runs the whole trace and PABFD follows the paper.
    public var followsCloudSimCode: Bool

    public init(
        profile: Profile,
        intervalSeconds: Double,
        hostTypes: [HostType],
        hosts: [Int],
        vmTypes: [VMType],
        migrationPerformance: Double = 0.9,
        powerManagement: PowerManagement = .defaults(for: .suspend),
        followsCloudSimCode: Bool = false
    ) throws {
        guard !hosts.isEmpty else {
            throw SimulationInputError(file: "scenario", key: "hosts", problem: "the scenario has no hosts")
        }
        guard !vmTypes.isEmpty else {
            throw SimulationInputError(file: "scenario", key: "vm_types", problem: "the scenario has no VM types")
        }
        guard hosts.allSatisfy({ hostTypes.indices.contains($0) }) else {
            throw SimulationInputError(file: "scenario", key: "hosts", problem: "a host names an unknown host type")
        }
        for (key, seconds) in [
            ("power_management.sleep_seconds", powerManagement.sleepSeconds),
            ("power_management.wake_seconds", powerManagement.wakeSeconds),
        ] where !(0...intervalSeconds).contains(seconds) {
            throw SimulationInputError(
                file: "scenario",
                key: key,
                problem: "\(seconds) s is not within one interval (0–\(intervalSeconds) s)"
            )
        }
        guard !followsCloudSimCode || profile == .cloudsim else {
            throw SimulationInputError(
                file: "scenario",
                key: "cloudsim_code",
                problem: "CloudSim's code is followed only in the cloudsim profile"
            )
        }
        self.profile = profile
        self.intervalSeconds = intervalSeconds
        self.hostTypes = hostTypes
        self.hosts = hosts
        self.vmTypes = vmTypes
        self.migrationPerformance = migrationPerformance
        self.powerManagement = powerManagement
        self.followsCloudSimCode = followsCloudSimCode
    }

    /// The VM type of VM `index` out of `count`: contiguous equal shares, in type order.
    public func vmType(ofVM index: Int, count: Int) -> VMType {
        vmTypes[min(index * vmTypes.count / max(count, 1), vmTypes.count - 1)]
    }

    /// Beloglazov & Buyya's setup (the traces' README): 800 hosts alternating HP ML110 G4 (Xeon 3040) and G5
    /// (Xeon 3075) with their SPECpower_ssj2008 tables, four VM types.
    /// `followsCloudSimCode`: as CloudSim 3.0.3 ran it for the reference figures.
    public static func cloudSim(hostCount: Int = 800, followsCloudSimCode: Bool = false) throws -> Scenario {
        // CloudSim's megabytes are 10^6 bytes as far as migration time goes (RAM ÷ 62.5 MB/s).
        let megabyte = 1_000_000.0
        // CloudSim's host bandwidth is 1 Gbit/s; a migration gets half of it: 62.5 MB/s.
        let bandwidth = 125_000_000.0
        let g4 = HostType(
            name: "hp-ml110-g4",
            cores: 2,
            mipsPerCore: 1860,
            memoryBytes: 4096 * megabyte,
            bandwidthBytesPerSecond: bandwidth,
            power: try .specPower([86, 89.4, 92.6, 96, 99.5, 102, 106, 108, 112, 114, 117])
        )
        let g5 = HostType(
            name: "hp-ml110-g5",
            cores: 2,
            mipsPerCore: 2660,
            memoryBytes: 4096 * megabyte,
            bandwidthBytesPerSecond: bandwidth,
            power: try .specPower([93.7, 97, 101, 105, 110, 116, 121, 125, 129, 133, 135])
        )
        return try Scenario(
            profile: .cloudsim,
            intervalSeconds: 300,
            hostTypes: [g4, g5],
            hosts: (0..<hostCount).map { $0 % 2 },
            vmTypes: [
                VMType(mips: 2500, memoryBytes: 870 * megabyte),
                VMType(mips: 2000, memoryBytes: 1740 * megabyte),
                VMType(mips: 1000, memoryBytes: 1740 * megabyte),
                VMType(mips: 500, memoryBytes: 613 * megabyte),
            ],
            followsCloudSimCode: followsCloudSimCode
        )
    }
}
