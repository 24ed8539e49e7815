import Commands
import ConfigFile
import Foundation
import MetricsExport
import Systemd
import Transport
import Wire

/// Everything the agent reads from `/etc/torpor/agent.yaml` (documented in docs/agent.md), after flags
/// have overridden the file.
public struct AgentConfiguration: Sendable, Equatable {
    public static let defaultPath = "/etc/torpor/agent.yaml"

    public var hostID: String
    public var hostname: String
    public var libvirtURI = "qemu:///system"
    /// Where the agent listens for agentctl and manager-initiated connections when not socket-activated.
    public var listen = HostPort(host: "0.0.0.0", port: 7701)
    /// The manager to dial; nil runs the agent stand-alone (agentctl only). With `managers:`, the first of them.
    public var manager: HostPort?
    /// `managers:`, managers that fail over (docs/ha.md): the agent asks them who leads and follows the leader.
    /// Empty: it dials `manager` alone, as always.
    public var managers: [HostPort] = []
    public var sampleInterval: Duration = .seconds(3)
    public var heartbeatInterval: Duration = .seconds(3)
    public var ringCapacity = 60
    /// How long after start the agent gives back the pages it touched only while starting (`StartupPages`);
    /// zero keeps them.
    public var releaseStartupPagesAfter: Duration = .seconds(10)
    public var procRoot = "/"
    /// Where the host's own sample comes from: `/proc` under `procRoot`, or the sum of its VMs (a simulated host).
    public var hostMetrics = HostMetricsSource.proc
    /// Interfaces counted as host traffic; empty means all but `lo`.
    public var hostInterfaces: [String] = []
    public var nicCapacityMegabitsPerSecond = 1000
    public var power = PowerCommands()
    public var wake = WakeSettings()
    public var log = LogDestination.auto
    /// What one peer may hold (`connections:`): idle time, requests at once, bytes it leaves unread.
    public var connection = WireConnectionConfiguration()
    /// How many peers (`connections:`): agentctl and managers only, never many.
    public var serverLimits = WireServerLimits(maximumConnections: 256)
    /// How migrations are run and watched (`migration:`).
    public var migration = MigrationWatchdogConfiguration()
    /// The libvirt URI other hosts migrate VMs to this host at (`migration.destination_uri`), announced in Hello;
    /// nil: `qemu+tcp://<the address the agent advertises>/system`.
    public var migrationDestinationURI: String?
    /// Where `/metrics` is served (`metrics.listen`); off unless set.
    public var metrics = MetricsConfiguration()
    /// Mutual TLS for the listener and the manager link (`tls:`, docs/security.md); without a certificate only
    /// loopback addresses may be used.
    public var tls = WireTLSSettings()

    public enum HostMetricsSource: String, Sendable, Equatable, CaseIterable {
        /// `/proc` under `proc_root`: the machine the agent runs on.
        case proc
        /// The sum of the host's VMs: for lab hosts that share one machine, whose `/proc` is not theirs.
        case vms
    }

    /// The program (and arguments) run for each power action; never through a shell. An empty command means the
    /// host does not offer that action: it is not advertised and is refused.
    public struct PowerCommands: Sendable, Equatable {
        public var suspendToRam = ["systemctl", "suspend"]
        public var suspendToDisk = ["systemctl", "hibernate"]
        public var suspendToBoth = ["systemctl", "hybrid-sleep"]
        public var shutdown = ["systemctl", "poweroff"]
        public var timeout: Duration = .seconds(10)

        public init() {}

        public func command(for action: PowerCommand.Action) -> [String] {
            switch action {
            case .suspendToRam: suspendToRam
            case .suspendToDisk: suspendToDisk
            case .suspendToBoth: suspendToBoth
            case .shutdown: shutdown
            }
        }

        /// The configuration key of each action's command, for messages that tell what to change.
        public static func key(for action: PowerCommand.Action) -> String {
            switch action {
            case .suspendToRam: "power.suspend_to_ram"
            case .suspendToDisk: "power.suspend_to_disk"
            case .suspendToBoth: "power.suspend_to_both"
            case .shutdown: "power.shutdown"
            }
        }

        /// Why `action` cannot run here, or nil when it can: its command is empty, or its program is not found
        /// (in `path`, the agent's PATH).
        public func unavailability(of action: PowerCommand.Action, path: String?) -> String? {
            let argv = command(for: action)
            guard let program = argv.first else { return "\(Self.key(for: action)) is empty" }
            guard CommandRunner.isRunnable(program, path: path) else {
                return "\(Self.key(for: action)): program '\(program)' not found"
            }
            return nil
        }

        /// The power actions this host offers, as advertised in its Hello.
        public func capabilities(path: String?) -> AgentCapabilities {
            var result: AgentCapabilities = []
            for (action, capability) in [
                (PowerCommand.Action.suspendToRam, AgentCapabilities.suspendToRam), (.suspendToDisk, .suspendToDisk),
                (.suspendToBoth, .suspendToBoth), (.shutdown, .shutdown),
            ] where unavailability(of: action, path: path) == nil {
                result.insert(capability)
            }
            return result
        }
    }

    public init(hostname: String = ProcessInfo.processInfo.hostName) {
        self.hostname = hostname
        self.hostID = hostname
    }

    /// Reads a configuration file strictly: an unknown key or a bad value throws a ConfigError naming it.
    public static func load(file: String) throws -> AgentConfiguration {
        try load(section: ConfigSection(contentsOf: file))
    }

    public static func load(yaml: String, file: String) throws -> AgentConfiguration {
        try load(section: ConfigSection(yaml: yaml, file: file))
    }

    static func load(section config: ConfigSection) throws -> AgentConfiguration {
        var result = AgentConfiguration()
        if let hostname = try config.string("hostname") {
            result.hostname = hostname
            result.hostID = hostname
        }
        if let hostID = try config.string("host_id") { result.hostID = hostID }
        if let uri = try config.string("libvirt_uri") { result.libvirtURI = uri }
        if let listen = try config.string("listen") {
            result.listen = try parseHostPort(listen, key: "listen", file: config.file, allowsPortZero: true)
        }
        if let manager = try config.string("manager") {
            result.manager = try parseHostPort(manager, key: "manager", file: config.file)
        }
        if let managers = try config.stringList("managers") {
            guard result.manager == nil else {
                throw ConfigError(
                    file: config.file,
                    line: config.line(of: "managers"),
                    key: "managers",
                    problem: "give manager (one address) or managers (a bootstrap list), not both"
                )
            }
            guard !managers.isEmpty else {
                throw ConfigError(
                    file: config.file,
                    line: config.line(of: "managers"),
                    key: "managers",
                    problem: "empty: list the managers' host:port addresses"
                )
            }
            result.managers = try managers.map { try parseHostPort($0, key: "managers", file: config.file) }
            result.manager = result.managers.first
        }
        if let interval = try config.duration("sample_interval", minimum: .milliseconds(100)) {
            result.sampleInterval = interval
        }
        if let interval = try config.duration("heartbeat_interval", minimum: .milliseconds(100)) {
            result.heartbeatInterval = interval
        }
        if let capacity = try config.int("ring_capacity", in: 2...100_000) { result.ringCapacity = capacity }
        if let delay = try config.duration("release_startup_pages_after") { result.releaseStartupPagesAfter = delay }
        if let root = try config.string("proc_root") { result.procRoot = root }
        if let source = try config.choice("host_metrics", from: HostMetricsSource.allCases.map(\.rawValue)) {
            result.hostMetrics = HostMetricsSource(rawValue: source) ?? .proc
        }
        if let interfaces = try config.stringList("host_interfaces") { result.hostInterfaces = interfaces }
        if let mbit = try config.int("nic_capacity_mbit", in: 1...10_000_000) {
            result.nicCapacityMegabitsPerSecond = mbit
        }
        if let log = try config.choice("log", from: LogDestination.allCases.map(\.rawValue)) {
            result.log = LogDestination(rawValue: log) ?? .auto
        }
        if let power = try config.section("power") {
            for (key, path) in [
                ("suspend_to_ram", \PowerCommands.suspendToRam), ("suspend_to_disk", \.suspendToDisk),
                ("suspend_to_both", \.suspendToBoth), ("shutdown", \.shutdown),
            ] {
                guard let command = try power.stringList(key) else { continue }
                // An empty list ([]) says the host does not offer the action; an empty program name is a mistake.
                if let program = command.first, program.isEmpty {
                    throw ConfigError(
                        file: config.file,
                        line: nil,
                        key: "power.\(key)",
                        problem: "the program name is empty (use [] for a host that does not offer this action)"
                    )
                }
                result.power[keyPath: path] = command
            }
            if let timeout = try power.duration("timeout", minimum: .milliseconds(100)) {
                result.power.timeout = timeout
            }
        }
        if let wake = try config.section("wake") {
            if let mac = try wake.string("mac") {
                guard let bytes = parseMAC(mac) else {
                    throw ConfigError(
                        file: config.file,
                        line: nil,
                        key: "wake.mac",
                        problem: "'\(mac)' is not a MAC address"
                    )
                }
                result.wake.macAddress = bytes
            }
            if let target = try wake.string("wol_target") { result.wake.wakeOnLANTarget = target }
            if let bmc = try wake.string("bmc") { result.wake.bmcAddress = bmc }
            if let drivers = try wake.stringList("drivers") {
                result.wake.drivers = try drivers.map { name in
                    switch name {
                    case "ipmi": .ipmi
                    case "wol": .wakeOnLAN
                    case "command": .command
                    default:
                        throw ConfigError(
                            file: config.file,
                            line: nil,
                            key: "wake.drivers",
                            problem: "'\(name)' is not one of ipmi, wol, command"
                        )
                    }
                }
            }
        }
        if let section = try config.section("connections") {
            try loadConnectionLimits(section, into: &result.connection, &result.serverLimits)
        }
        if let migration = try config.section("migration") {
            if let uri = try migration.string("destination_uri") {
                guard uri.contains("://"), !uri.contains(where: { $0.isWhitespace || $0.isNewline }) else {
                    throw ConfigError(
                        file: config.file,
                        line: migration.line(of: "destination_uri"),
                        key: "migration.destination_uri",
                        problem: "'\(uri)' is not a libvirt URI such as qemu+tcp://10.0.0.2/system"
                    )
                }
                result.migrationDestinationURI = uri
            }
            result.migration = try MigrationWatchdogConfiguration.load(section: migration)
        }
        if let section = try config.section("metrics") { result.metrics = try MetricsConfiguration.load(section) }
        result.tls = try WireTLSSettings.load(try config.section("tls"), file: config.file)
        try config.rejectUnknownKeys()
        return result
    }

    public var capacityNICBytesPerSecond: UInt64 { UInt64(nicCapacityMegabitsPerSecond) * 1_000_000 / 8 }

    /// The URI announced in Hello: `migration.destination_uri`, else libvirt's TCP transport at the host part of
    /// `advertisedAddress` ("10.0.0.2:7701" gives `qemu+tcp://10.0.0.2/system`); empty when there is none.
    public func migrationURI(advertisedAddress: String) -> String {
        if let migrationDestinationURI { return migrationDestinationURI }
        guard let host = HostPort(advertisedAddress)?.host, !host.isEmpty else { return "" }
        return "qemu+tcp://\(host.contains(":") ? "[\(host)]" : host)/system"
    }
}

/// A "host:port" key, or a ConfigError naming it.
func parseHostPort(_ text: String, key: String, file: String, allowsPortZero: Bool = false) throws -> HostPort {
    guard let parsed = HostPort(text, allowsPortZero: allowsPortZero) else {
        throw ConfigError(file: file, line: nil, key: key, problem: "'\(text)' is not host:port")
    }
    return parsed
}

func parseMAC(_ text: String) -> [UInt8]? {
    let parts = text.split(separator: ":")
    guard parts.count == 6 else { return nil }
    let bytes = parts.compactMap { $0.count == 2 ? UInt8($0, radix: 16) : nil }
    return bytes.count == 6 ? bytes : nil
}

/// The `connections:` section, the same for the agent and the manager (docs/agent.md, docs/manager.md).
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
