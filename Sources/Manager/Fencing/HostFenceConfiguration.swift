import ConfigFile

/// How one host is fenced: its drivers, tried in order until one confirms the host is off. From the host's
/// entry in the `hosts:` section of manager.yaml:
///
/// ```yaml
/// hosts:
///   host-3:
///     ipmi: {address: 10.0.0.103:623, user: admin, password_file: /etc/torpor/bmc/host-3.password}
///     fence: [ipmi, command]                  # in order
///     fence_command: [/usr/sbin/fence_ipmilan, --ip=10.0.1.103, --username=admin, --password-script=…, --action=off]
/// ```
///
/// `ipmi` fences through the host's `ipmi` section, the same BMC that wakes it and reads its power; `command` runs
/// `fence_command`. A host without `fence` is never fenced, so its VMs are never restarted elsewhere.
public struct HostFenceConfiguration: Sendable, Equatable {
    public enum Driver: Sendable, Equatable {
        /// Chassis power off through the host's BMC, then chassis power status until it reports off.
        case ipmi(HostWakeConfiguration.BMCAccess)
        /// A configured program, run without a shell; exit status 0 means the host is off.
        case command([String])

        public var name: String {
            switch self {
            case .ipmi: "IPMI"
            case .command: "command"
            }
        }
    }

    public var drivers: [Driver]

    public init(drivers: [Driver]) {
        self.drivers = drivers
    }

    static let driverNames = ["ipmi", "command"]

    /// The host's `fence` and `fence_command` keys; nil when the host has no `fence` key. `bmc` is the host's
    /// `ipmi` section, already read.
    static func load(_ section: ConfigSection, bmc: HostWakeConfiguration.BMCAccess?) throws -> HostFenceConfiguration?
    {
        let order = try section.stringList("fence")
        let command = try section.stringList("fence_command")
        guard let order else {
            if command != nil {
                throw problem(section, "fence_command", "is set but the host has no fence list naming command")
            }
            return nil
        }
        var drivers: [Driver] = []
        for name in order {
            guard Self.driverNames.contains(name) else {
                throw problem(section, "fence", "'\(name)' is not one of \(Self.driverNames.joined(separator: ", "))")
            }
            guard !drivers.contains(where: { $0.name.lowercased() == name }) else {
                throw problem(section, "fence", "lists \(name) twice")
            }
            switch name {
            case "ipmi":
                guard let bmc else {
                    throw problem(section, "ipmi", "missing: fence lists ipmi", line: section.line(of: "fence"))
                }
                drivers.append(.ipmi(bmc))
            default:
                guard let command else {
                    throw problem(
                        section,
                        "fence_command",
                        "missing: fence lists command",
                        line: section.line(of: "fence")
                    )
                }
                guard let program = command.first, !program.isEmpty else {
                    throw problem(section, "fence_command", "needs a program and its arguments")
                }
                drivers.append(.command(command))
            }
        }
        if command != nil, !order.contains("command") {
            throw problem(section, "fence_command", "is set but fence does not list command")
        }
        return HostFenceConfiguration(drivers: drivers)
    }

    private static func problem(
        _ section: ConfigSection,
        _ key: String,
        _ text: String,
        line: Int? = nil
    ) -> ConfigError {
        ConfigError(
            file: section.file,
            line: line ?? section.line(of: key),
            key: "\(section.path).\(key)",
            problem: text
        )
    }
}
