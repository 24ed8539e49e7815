import ConfigFile
import MetricsExport
import Placement
import Transport

/// Settings of `torpor-manager` from `/etc/torpor/manager.yaml`; flags override the file.
public struct ManagerConfiguration: Sendable, Equatable {
    public static let defaultPath = "/etc/torpor/manager.yaml"

    public var managerID = "manager-1"
    public var listen = "0.0.0.0:7700"
    /// How often agents send heartbeats, and how long silence means a host has failed (Snooze: 3 s / 10 s).
    public var heartbeatInterval: Duration = .seconds(3)
    public var heartbeatTimeout: Duration = .seconds(10)
    /// The longest an agent waits before trying its manager again (its reconnect backoff's cap): after a start, a
    /// host recorded up that has not rejoined within this plus two heartbeat timeouts (and the rejoin window) is
    /// declared FAILED. Not in manager.yaml: it follows the agents' code; tests shorten it.
    public var agentRetryMaximum: Duration = Backoff().maximum
    public var reportInterval: Duration = .seconds(3)
    /// Samples kept per VM and per host (Snooze: 30).
    public var ringCapacity = 30
    /// Log every heartbeat at info level (the demo shows them; normally they are debug).
    public var logHeartbeats = false
    /// The SQLite file holding hosts, virtual clusters, VMs, tasks and leases.
    public var database = "/var/lib/torpor/manager.sqlite"
    public var placementPolicy = PlacementPolicyName.firstFit
    /// Snooze's MID threshold: hosts are filled to at most this fraction of capacity in every dimension.
    public var fillLimit = 1.0
    /// Subnets VM addresses come from, in order; libvirt's default network unless configured.
    public var vmSubnets = [IPv4Subnet.defaultVMSubnet]
    /// Addresses never leased, e.g. the gateway.
    public var reservedAddresses = [IPv4Address(192, 168, 122, 1)]
    /// Check that every disk a template names exists here (true when hosts share storage with the manager).
    public var checkTemplateDisks = true
    public var energy = EnergyConfiguration()
    /// How each host is woken, by host id (`hosts:`); a host without an entry is never put to sleep.
    public var hostWake: [String: HostWakeConfiguration] = [:]
    /// How each host is fenced, by host id (`hosts.<id>.fence`); a host without an entry is never fenced.
    public var hostFence: [String: HostFenceConfiguration] = [:]
    /// Each host's power model for power-aware placement (`hosts.<id>.power`); absent: the default linear model.
    public var hostPower: [String: HostPowerModel] = [:]
    /// Fencing's timeouts (`fencing:`).
    public var fencing = FencingConfiguration()
    /// Migration limits and how the leader follows migrations (`migration:`).
    public var migration = MigrationConfiguration()
    /// What one peer may hold (`connections:`): idle time, requests at once, bytes it leaves unread.
    public var connection = WireConnectionConfiguration()
    /// How many peers (`connections:`): enough for 10,000 agents and their control clients.
    public var serverLimits = WireServerLimits(maximumConnections: 16_384)
    /// How the event loops wait between turns while many agents are connected (`connections.wakeup_pause`,
    /// `connections.wakeup_min_connections`); nil: they never pause.
    public var wakeupCoalescing: WakeupCoalescing? = WakeupCoalescing()
    // Estimates, relocation and consolidation (`estimator:`, `relocation:`, `consolidation:`; docs/manager.md).
    public var estimator = EstimatorConfiguration()
    public var relocation = RelocationConfiguration()
    public var consolidation = ConsolidationConfiguration()
    /// Where `/metrics` is served (`metrics.listen`); off unless set.
    public var metrics = MetricsConfiguration()
    /// The HTTP front and the APIs on it (`http:`); off unless `http.listen` is set.
    public var http = HTTPFrontConfiguration()
    /// Where Snooze's notifications are published besides the HTTP front and Wire (`events:`).
    public var events = EventsConfiguration()
    /// Flavors, the image catalog and VMs made from images (`images:`; docs/images.md).
    public var images = ImagesConfiguration()
    /// Reservations' longest duration and how often their ends are looked for (`reservations:`).
    public var reservations = ReservationConfiguration()
    /// The GENI Aggregate Manager (`geni:`, docs/geni.md); off unless `geni.enabled`.
    public var geni = GENIConfiguration()
    /// Managers that fail over through an etcd election (`coordination:`, docs/ha.md); nil: this manager runs alone.
    public var coordination: CoordinationConfiguration?
    /// Mutual TLS for every Wire link (`tls:`, docs/security.md); without a certificate only a loopback `listen`.
    public var tls = WireTLSSettings()
    /// What this process does (`role:`, `--role`; docs/ha.md "Group managers").
    public var role = ManagerRole.manager
    /// On the group leader: hosts are dealt to group managers in their own processes (`group_managers:`).
    public var groupManagers: GroupManagersConfiguration?
    /// With `role: group-manager`: the leaders to follow and what to tell them (`group_manager:`).
    public var groupManager: GroupManagerRoleConfiguration?

    public enum PlacementPolicyName: String, Sendable, CaseIterable {
        case firstFit = "first-fit"
        case roundRobin = "round-robin"
        case bestFitDecreasing = "best-fit-decreasing"
        case powerAware = "power-aware"
    }

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
        if let value = try config.string("database") { result.database = value }
        if let value = try config.choice(
            "placement_policy",
            from: PlacementPolicyName.allCases.map(\.rawValue)
        ) {
            result.placementPolicy = PlacementPolicyName(rawValue: value) ?? .firstFit
        }
        if let value = try config.double("fill_limit", in: 0.05...1) { result.fillLimit = value }
        if let values = try config.stringList("vm_subnets") {
            result.vmSubnets = try values.map { text in
                do { return try IPv4Subnet(parsing: text) } catch {
                    throw ConfigError(file: config.file, line: nil, key: "vm_subnets", problem: "\(error)")
                }
            }
        }
        if let values = try config.stringList("reserved_addresses") {
            result.reservedAddresses = try values.map { text in
                do { return try IPv4Address(parsing: text) } catch {
                    throw ConfigError(file: config.file, line: nil, key: "reserved_addresses", problem: "\(error)")
                }
            }
        }
        if let value = try config.bool("check_template_disks") { result.checkTemplateDisks = value }
        if let section = try config.section("energy") { result.energy = try EnergyConfiguration.load(section) }
        if let section = try config.section("fencing") { result.fencing = try FencingConfiguration.load(section) }
        if let section = try config.section("migration") { result.migration = try MigrationConfiguration.load(section) }
        if let section = try config.section("connections") {
            try loadConnectionLimits(section, into: &result.connection, &result.serverLimits)
            try loadWakeupCoalescing(section, into: &result.wakeupCoalescing)
        }
        // Estimates, relocation and consolidation.
        if let section = try config.section("estimator") {
            result.estimator = try EstimatorConfiguration.load(section, ringCapacity: result.ringCapacity)
        }
        if let section = try config.section("relocation") {
            result.relocation = try RelocationConfiguration.load(section)
        }
        if let section = try config.section("consolidation") {
            result.consolidation = try ConsolidationConfiguration.load(section)
        }
        if let section = try config.section("metrics") { result.metrics = try MetricsConfiguration.load(section) }
        if let section = try config.section("http") { result.http = try HTTPFrontConfiguration.load(section) }
        if let section = try config.section("events") { result.events = try EventsConfiguration.load(section) }
        if let section = try config.section("images") { result.images = try ImagesConfiguration.load(section) }
        if let section = try config.section("reservations") {
            result.reservations = try ReservationConfiguration.load(section)
        }
        if let section = try config.section("geni") { result.geni = try GENIConfiguration.load(section) }
        if let hosts = try config.section("hosts") {
            for host in hosts.keys {
                guard let section = try hosts.section(host) else { continue }
                let wake = try HostWakeConfiguration.load(section)
                result.hostWake[host] = wake
                result.hostFence[host] = try HostFenceConfiguration.load(section, bmc: wake.bmc)
                result.hostPower[host] = try HostPowerModelConfiguration.load(section)
            }
        }
        if let section = try config.section("coordination") {
            result.coordination = try CoordinationConfiguration.load(section, listen: result.listen)
        }
        result.tls = try WireTLSSettings.load(try config.section("tls"), file: config.file)
        if let value = try config.choice("role", from: ManagerRole.allCases.map(\.rawValue)) {
            result.role = ManagerRole(rawValue: value) ?? .manager
        }
        if let section = try config.section("group_managers") {
            result.groupManagers = try GroupManagersConfiguration.load(section)
        }
        if let section = try config.section("group_manager") {
            result.groupManager = try GroupManagerRoleConfiguration.load(section, listen: result.listen)
        }
        try config.rejectUnknownKeys()
        guard result.heartbeatTimeout > result.heartbeatInterval else {
            throw ConfigError(
                file: config.file,
                line: nil,
                key: "heartbeat_timeout",
                problem: "must be longer than heartbeat_interval (\(result.heartbeatInterval))"
            )
        }
        // Agents are silent at most a heartbeat interval; one silent past the timeout has failed anyway.
        if let idle = result.connection.idleTimeout, idle <= result.heartbeatTimeout {
            throw ConfigError(
                file: config.file,
                line: nil,
                key: "connections.idle_timeout",
                problem: "must be longer than heartbeat_timeout (\(result.heartbeatTimeout))"
            )
        }
        return result
    }
}

/// The manager's own `connections:` keys: `wakeup_pause` (whole milliseconds, 0 turns pausing off) and
/// `wakeup_min_connections` (per event loop).
func loadWakeupCoalescing(_ section: ConfigSection, into coalescing: inout WakeupCoalescing?) throws {
    if let pause = try section.duration("wakeup_pause", maximum: .milliseconds(100)) {
        coalescing = pause == .zero ? nil : WakeupCoalescing(
            window: pause,
            minimumConnectionsPerLoop: coalescing?.minimumConnectionsPerLoop ?? 1_000
        )
    }
    if let value = try section.int("wakeup_min_connections", in: 1...1_000_000) {
        coalescing?.minimumConnectionsPerLoop = value
    }
}

/// The `connections:` section, the same for the manager and the agent (docs/manager.md, docs/agent.md).
func loadConnectionLimits(
    _ section: ConfigSection,
    into connection: inout WireConnectionConfiguration,
    _ server: inout WireServerLimits
) throws {
    if let value = try section.int("max_connections", in: 1...1_000_000) { server.maximumConnections = value }
    if let value = try section.int("reserved_descriptors", in: 16...1_000_000) { server.reservedDescriptors = value }
    if let value = try section.int("max_requests_per_connection", in: 1...100_000) {
        connection.maximumConcurrentRequests = value
    }
    if let value = try section.duration("idle_timeout", minimum: .seconds(1)) { connection.idleTimeout = value }
    if let value = try section.int("send_buffer_limit", in: 65_536...1_073_741_824) {
        connection.outboundBufferHighWatermark = value
    }
    if let value = try section.duration("send_stall_timeout", minimum: .seconds(1)) {
        connection.outboundStallTimeout = value
    }
}
