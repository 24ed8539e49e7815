import ConfigFile

/// Settings of `torpor-manager` from `/etc/torpor/manager.yaml`; flags override the file.
public struct ManagerConfiguration: Sendable, Equatable {
    public static let defaultPath = "/etc/torpor/manager.yaml"

    public var managerID = "manager-1"
    public var listen = "0.0.0.0:7700"
    /// How often agents send heartbeats, and how long silence means a host has failed (Snooze: 3 s / 10 s).
    public var heartbeatInterval: Duration = .seconds(3)
    public var heartbeatTimeout: Duration = .seconds(10)
    public var reportInterval: Duration = .seconds(3)
    /// Samples kept per VM and per host (Snooze: 30).
    public var ringCapacity = 30
    /// Log every heartbeat at info level (the demo shows them; normally they are debug).
    public var logHeartbeats = false

    public init() {}

    public static func load(file: String) throws -> ManagerConfiguration {
        try load(section: ConfigSection(contentsOf: file))
    }

    public static func load(yaml: String, file: String) throws -> ManagerConfiguration {
        try load(section: ConfigSection(yaml: yaml, file: file))
    }

    static func load(section config: ConfigSection) throws -> ManagerConfiguration {
        var result = ManagerConfiguration()
        if let id = try config.string("manager_id") { result.managerID = id }
        if let listen = try config.string("listen") { result.listen = listen }
        if let value = try config.duration("heartbeat_interval", minimum: .milliseconds(100)) {
            result.heartbeatInterval = value
        }
        if let value = try config.duration("heartbeat_timeout", minimum: .milliseconds(200)) {
            result.heartbeatTimeout = value
        }
        if let value = try config.duration("report_interval", minimum: .milliseconds(100)) {
            result.reportInterval = value
        }
        if let value = try config.int("ring_capacity", in: 2...100_000) { result.ringCapacity = value }
        if let value = try config.bool("log_heartbeats") { result.logHeartbeats = value }
        try config.rejectUnknownKeys()
        guard result.heartbeatTimeout > result.heartbeatInterval else {
            throw ConfigError(
                file: config.file,
                line: nil,
                key: "heartbeat_timeout",
                problem: "must be longer than heartbeat_interval (\(result.heartbeatInterval))"
            )
        }
        return result
    }
}
