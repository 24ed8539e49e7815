import ConfigFile
import Energy

/// The `energy:` section of manager.yaml: the energy saver's policy and how often it runs.
public struct EnergyConfiguration: Sendable, Equatable {
    /// Off by default: a manager powers hosts down only when the operator asked for it.
    public var enabled = false
    public var policy = EnergyPolicyConfiguration()
    /// How often the policy is evaluated.
    public var evaluationInterval: Duration = .seconds(10)
    /// How long a wake driver has for the host's agent to rejoin before the next driver is tried.
    public var wakeupTime: Duration = .seconds(300)
    /// How long the agent's power command may run.
    public var powerCommandTimeout: Duration = .seconds(30)
    /// How often each host's BMC power sensors are read (hosts with an `ipmi` section), whether or not the energy
    /// saver is enabled.
    public var powerReadingInterval: Duration = .seconds(10)
    /// freeipmi's cache of the BMCs' sensor data records.
    public var sdrCacheDirectory = "/var/cache/torpor/sdr"
    /// What an idle awake host draws, for the always-on estimate of a host never measured awake; nil: such a host
    /// adds no estimate until it has been.
    public var idleWatts: Double?

    public init() {}

    static func load(_ section: ConfigSection) throws -> EnergyConfiguration {
        var result = EnergyConfiguration()
        if let value = try section.bool("enabled") { result.enabled = value }
        if let value = try section.duration("idle_time", minimum: .milliseconds(100)) { result.policy.idleTime = value }
        if let value = try section.int("reserved_hosts", in: 0...100_000) { result.policy.reservedHosts = value }
        if let value = try section.double("reserved_load_fraction", in: 0...10) {
            result.policy.reservedLoadFraction = value
        }
        if let value = try section.duration("minimum_awake") { result.policy.minimumAwake = value }
        if let value = try section.duration("minimum_asleep") { result.policy.minimumAsleep = value }
        if let value = try section.duration("power_on_window") { result.policy.powerOnWindow = value }
        if let value = try section.choice("action", from: PowerAction.allCases.map(\.configName)) {
            result.policy.action = PowerAction.allCases.first { $0.configName == value } ?? .suspendToRam
        }
        if let value = try section.duration("evaluation_interval", minimum: .milliseconds(100)) {
            result.evaluationInterval = value
        }
        if let value = try section.duration("wakeup_time", minimum: .milliseconds(500)) { result.wakeupTime = value }
        if let value = try section.duration("power_command_timeout", minimum: .seconds(1)) {
            result.powerCommandTimeout = value
        }
        if let value = try section.duration("power_reading_interval", minimum: .milliseconds(200)) {
            result.powerReadingInterval = value
        }
        if let value = try section.string("sdr_cache_directory") { result.sdrCacheDirectory = value }
        if let value = try section.double("idle_watts", in: 0...100_000) { result.idleWatts = value }
        return result
    }
}

extension PowerAction {
    /// The word in configuration files and on the command line.
    public var configName: String {
        switch self {
        case .suspendToRam: "suspend-to-ram"
        case .suspendToBoth: "suspend-to-both"
        case .suspendToDisk: "suspend-to-disk"
        case .shutdown: "shutdown"
        }
    }
}
