import ConfigFile

/// The manager's `migration:` section (docs/manager.md, "Migration"): how many migrations run at once, and how the
/// leader follows them. The watchdog itself is the agent's (`migration.*` in agent.yaml).
public struct MigrationConfiguration: Sendable, Equatable {
    /// Migrations out of one host at once; more wait their turn.
    public var maximumOutgoingPerHost = 2
    /// Migrations into one host at once; more wait their turn.
    public var maximumIncomingPerHost = 2
    /// Migrations in the whole cluster at once; more wait their turn.
    public var maximumPerCluster = 8
    /// Sent as the migrate command's `timeoutSeconds`, which caps the agent's deadline; zero leaves the agent's own
    /// (`completion_timeout_per_gib` × size).
    public var timeout: Duration = .zero
    /// How often a running migration's progress is written to the task in the store; status requests see every
    /// push at once regardless.
    public var progressWriteInterval: Duration = .seconds(5)
    /// How long the leader waits for the inventories that settle a migration whose agent went away mid-way (the
    /// source restarted, or the manager itself did), after which the task fails naming the host.
    public var outcomeWait: Duration = .seconds(300)

    public init() {}

    var limits: MigrationMachine.Limits {
        MigrationMachine.Limits(
            outgoingPerHost: maximumOutgoingPerHost,
            incomingPerHost: maximumIncomingPerHost,
            perCluster: maximumPerCluster
        )
    }

    static func load(_ section: ConfigSection) throws -> MigrationConfiguration {
        var result = MigrationConfiguration()
        if let value = try section.int("max_outgoing_per_host", in: 1...1000) { result.maximumOutgoingPerHost = value }
        if let value = try section.int("max_incoming_per_host", in: 1...1000) { result.maximumIncomingPerHost = value }
        if let value = try section.int("max_per_cluster", in: 1...100_000) { result.maximumPerCluster = value }
        if let value = try section.duration("timeout", minimum: .zero) { result.timeout = value }
        if let value = try section.duration("progress_write_interval", minimum: .milliseconds(100)) {
            result.progressWriteInterval = value
        }
        if let value = try section.duration("outcome_wait", minimum: .seconds(1)) { result.outcomeWait = value }
        return result
    }
}
