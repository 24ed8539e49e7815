import ConfigFile
import Transport

/// What a `torpor-manager` process does (`role:` or `--role`, docs/ha.md "Group managers").
public enum ManagerRole: String, Sendable, CaseIterable {
    /// The group leader with its state, and the group manager of every host unless `group_managers:` is set.
    case manager
    /// Holds a share of the hosts' agents for the group leader found through `group_manager.leaders`.
    case groupManager = "group-manager"
}

/// `group_managers:` on the group leader: it holds no agent itself and deals each host to one of the group
/// managers linked to it (Snooze's `groupLeaderScheduler.assignmentPolicy`).
public struct GroupManagersConfiguration: Sendable, Equatable {
    public var assignment = HostAssignmentMachine.Policy.roundRobin
    /// How often the leader moves one host towards the spread `assignment` deals (docs/ha.md, "Rebalancing"), so
    /// that a group manager that links late or comes back gets its share; 0: never.
    public var rebalanceInterval: Duration = .seconds(30)

    public init() {}

    static func load(_ section: ConfigSection) throws -> GroupManagersConfiguration {
        var result = GroupManagersConfiguration()
        if let value = try section.choice("assignment", from: HostAssignmentMachine.Policy.allCases.map(\.rawValue)) {
            result.assignment = HostAssignmentMachine.Policy(rawValue: value) ?? .roundRobin
        }
        if let value = try section.duration("rebalance_interval", minimum: .zero) { result.rebalanceInterval = value }
        try section.rejectUnknownKeys()
        return result
    }
}

/// `group_manager:` for `role: group-manager`: the group leader's bootstrap list, the address agents are sent to,
/// and how many hosts this group manager takes.
public struct GroupManagerRoleConfiguration: Sendable, Equatable {
    /// Every manager that may lead (`host:port`), asked in turn who leads, as agents do.
    public var leaders: [HostPort]
    /// Where the leader sends agents to reach this group manager (`host:port`); `listen` unless given.
    public var advertise: String
    /// At most this many hosts; 0: no limit.
    public var maxHosts = 0

    public init(leaders: [HostPort], advertise: String, maxHosts: Int = 0) {
        self.leaders = leaders
        self.advertise = advertise
        self.maxHosts = maxHosts
    }

    static func load(_ section: ConfigSection, listen: String) throws -> GroupManagerRoleConfiguration {
        func fail(_ key: String, _ problem: String) -> ConfigError {
            ConfigError(
                file: section.file,
                line: section.line(of: key),
                key: "\(section.path).\(key)",
                problem: problem
            )
        }
        guard let texts = try section.stringList("leaders"), !texts.isEmpty else {
            throw fail("leaders", "missing: every manager that may lead, as [\"HOST:PORT\", ...]")
        }
        let leaders = try texts.map { text in
            guard let address = HostPort(text) else { throw fail("leaders", "'\(text)' is not host:port") }
            return address
        }
        let advertise: String
        if let value = try section.string("advertise") {
            guard HostPort(value) != nil else { throw fail("advertise", "not host:port") }
            advertise = value
        } else {
            guard let own = HostPort(listen), !["0.0.0.0", "::", "[::]"].contains(own.host), own.port != 0 else {
                throw fail("advertise", "missing: listen (\(listen)) is not an address agents can reach; say which")
            }
            advertise = listen
        }
        var result = GroupManagerRoleConfiguration(leaders: leaders, advertise: advertise)
        if let value = try section.int("max_hosts", in: 0...1_000_000) { result.maxHosts = value }
        try section.rejectUnknownKeys()
        return result
    }
}

extension ManagerConfiguration {
    /// The role's sections agree with it: a group manager needs `group_manager:` and takes no `coordination:` or
    /// `group_managers:`; a manager takes no `group_manager:`. Checked after the flags (`--role`) are applied.
    public func checkRole(file: String) throws {
        func fail(_ key: String, _ problem: String) -> ConfigError {
            ConfigError(file: file, line: nil, key: key, problem: problem)
        }
        switch role {
        case .groupManager:
            guard groupManager != nil else {
                throw fail("group_manager", "missing: role group-manager needs group_manager.leaders")
            }
            guard coordination == nil else {
                throw fail("coordination", "a group manager campaigns for nothing: it follows group_manager.leaders")
            }
            guard groupManagers == nil else {
                throw fail("group_managers", "only the group leader deals hosts (role: manager)")
            }
        case .manager:
            guard groupManager == nil else {
                throw fail("group_manager", "only with role: group-manager (or --role group-manager)")
            }
        }
    }
}
