import ConfigFile
import Energy

/// How one host is woken: an ordered list of drivers, tried in turn (like DPM's IPMI → iLO → WOL).
/// From the `hosts:` section of manager.yaml, keyed by host id.
public struct HostWakeConfiguration: Sendable, Equatable {
    public enum Driver: Sendable, Equatable {
        /// Chassis power on over RMCP+ (lanplus, cipher suite 3). The password is read from a file by ipmitool
        /// itself, so it is never on a command line, in the environment or in a log.
        case ipmi(address: String, user: String, passwordFile: String)
        /// A magic packet: UDP to `broadcast`:`port`.
        case wakeOnLAN(mac: String, broadcast: String, port: UInt16)
        /// A configured program, run without a shell.
        case command([String])

        public var name: String {
            switch self {
            case .ipmi: "IPMI"
            case .wakeOnLAN: "Wake-on-LAN"
            case .command: "command"
            }
        }
    }

    /// How the manager reaches a host's BMC, for its power sensors and the IPMI driver.
    public struct BMCAccess: Sendable, Equatable {
        public var address: String
        public var user: String
        public var passwordFile: String

        public init(address: String, user: String, passwordFile: String) {
            self.address = address
            self.user = user
            self.passwordFile = passwordFile
        }
    }

    public var drivers: [Driver]
    /// From the host's `ipmi` section, whether or not `wake` lists ipmi: the manager reads its power sensors.
    public var bmc: BMCAccess?

    public init(drivers: [Driver], bmc: BMCAccess? = nil) {
        self.drivers = drivers
        self.bmc = bmc
    }

    static func load(_ section: ConfigSection) throws -> HostWakeConfiguration {
        var drivers: [Driver] = []
        let order = try section.stringList("wake") ?? []
        let ipmi = try section.section("ipmi")
        let wol = try section.section("wol")
        let command = try section.stringList("command")
        var bmc: BMCAccess?
        if let ipmi {
            guard let address = try ipmi.string("address"), let user = try ipmi.string("user"),
                let passwordFile = try ipmi.string("password_file")
            else {
                throw missing(section, "ipmi", because: "ipmi needs address, user and password_file")
            }
            bmc = BMCAccess(address: address, user: user, passwordFile: passwordFile)
        }
        for name in order {
            switch name {
            case "ipmi":
                guard let bmc else { throw missing(section, "ipmi", because: "wake lists ipmi") }
                drivers.append(.ipmi(address: bmc.address, user: bmc.user, passwordFile: bmc.passwordFile))
            case "wol":
                guard let wol, let mac = try wol.string("mac") else {
                    throw missing(section, "wol", because: "wol needs mac")
                }
                guard MagicPacket(mac: mac) != nil else {
                    throw ConfigError(
                        file: section.file,
                        line: nil,
                        key: "\(section.path).wol.mac",
                        problem: "'\(mac)' is not a MAC address"
                    )
                }
                drivers.append(
                    .wakeOnLAN(
                        mac: mac,
                        broadcast: try wol.string("broadcast") ?? "255.255.255.255",
                        port: UInt16(try wol.int("port", in: 1...65535) ?? 9)
                    )
                )
            case "command":
                guard let command, !command.isEmpty else {
                    throw missing(section, "command", because: "wake lists command")
                }
                drivers.append(.command(command))
            default:
                throw ConfigError(
                    file: section.file,
                    line: nil,
                    key: "\(section.path).wake",
                    problem: "'\(name)' is not one of ipmi, wol, command"
                )
            }
        }
        return HostWakeConfiguration(drivers: drivers, bmc: bmc)
    }

    private static func missing(_ section: ConfigSection, _ key: String, because reason: String) -> ConfigError {
        ConfigError(file: section.file, line: nil, key: "\(section.path).\(key)", problem: "missing: \(reason)")
    }
}
