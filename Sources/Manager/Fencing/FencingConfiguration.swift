import ConfigFile

/// The `fencing:` section of manager.yaml: how long fencing may take. Which hosts are fenced, and how, is in each
/// host's `fence` entry (`HostFenceConfiguration`).
public struct FencingConfiguration: Sendable, Equatable {
    /// How long a BMC has, after accepting chassis power off, to report the chassis off.
    public var powerOffTimeout: Duration = .seconds(60)
    /// How long one ipmitool call may take before it counts as failed.
    public var ipmiCallTimeout: Duration = .seconds(20)
    /// How long a fence command may run; past it, the command is stopped and counts as failed.
    public var commandTimeout: Duration = .seconds(120)

    public init() {}

    static func load(_ section: ConfigSection) throws -> FencingConfiguration {
        var result = FencingConfiguration()
        if let value = try section.duration("power_off_timeout", minimum: .seconds(1)) {
            result.powerOffTimeout = value
        }
        if let value = try section.duration("ipmi_call_timeout", minimum: .seconds(1)) {
            result.ipmiCallTimeout = value
        }
        if let value = try section.duration("command_timeout", minimum: .seconds(1)) { result.commandTimeout = value }
        return result
    }
}
