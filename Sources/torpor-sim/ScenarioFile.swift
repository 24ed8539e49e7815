import ConfigFile
import Placement
import Simulation

/// A scenario in YAML (docs/sim.md):
///
///     profile: cloudsim
///     interval: 300s
///     host_types:
///       hp-ml110-g4: { cores: 2, mips_per_core: 1860, memory_mb: 4096, bandwidth_mbit: 1000,
///                      watts: [86, 89.4, 92.6, 96, 99.5, 102, 106, 108, 112, 114, 117] }
///     hosts: { count: 800, types: [hp-ml110-g4, hp-ml110-g5] }   # types repeat in this order
///     vm_types:                                                # contiguous equal shares of the sorted traces
///       large: { mips: 2500, memory_mb: 870 }
///     cloudsim_code: false                                     # cloudsim profile: run as CloudSim 3.0.3's code
///     power_management:                                        # the realistic profile's sleep and wake
///       method: suspend                                        # or shutdown: sets the defaults below
///       sleep_seconds: 10                                      # shutdown: 60
///       wake_seconds: 20                                       # shutdown: 180
///       standby_watts: 5                                       # shutdown: 3
///       reserve_hosts: 1                                       # empty hosts kept awake
///       minimum_awake: 10m
///       minimum_asleep: 5m
enum ScenarioFile {
    static func load(_ file: String) throws -> Scenario {
        let config = try ConfigSection(contentsOf: file)
        let profileName = try config.choice("profile", from: Scenario.Profile.allCases.map(\.rawValue)) ?? "cloudsim"
        let profile = Scenario.Profile(rawValue: profileName) ?? .cloudsim
        let interval = try config.duration("interval", minimum: .seconds(1)) ?? .seconds(300)
        let migrationPerformance = try config.double("migration_performance", in: 0...1) ?? 0.9

        var hostTypes: [Scenario.HostType] = []
        if let section = try config.section("host_types") {
            for name in section.keys {
                guard let type = try section.section(name) else { continue }
                let wattsText = try type.stringList("watts") ?? []
                let watts = try wattsText.map { text -> Double in
                    guard let value = Double(text), value.isFinite, value >= 0 else {
                        throw ConfigError(
                            file: file,
                            line: type.line(of: "watts"),
                            key: "host_types.\(name).watts",
                            problem: "'\(text)' is not a power in watts"
                        )
                    }
                    return value
                }
                guard watts.count == 11 else {
                    throw ConfigError(
                        file: file,
                        line: type.line(of: "watts") ?? section.line(of: name),
                        key: "host_types.\(name).watts",
                        problem: "needs 11 values (watts at 0, 10, …, 100 % CPU), got \(watts.count)"
                    )
                }
                hostTypes.append(
                    Scenario.HostType(
                        name: name,
                        cores: try required(type.int("cores", in: 1...4096), "cores", in: type, file: file),
                        mipsPerCore: try required(
                            type.double("mips_per_core", in: 1...1e9),
                            "mips_per_core",
                            in: type,
                            file: file
                        ),
                        memoryBytes: (try type.double("memory_mb", in: 0...1e12) ?? 0) * 1_000_000,
                        bandwidthBytesPerSecond: (try type.double("bandwidth_mbit", in: 1...1e9) ?? 1000) * 125_000,
                        power: try powerModel(
                            watts,
                            key: "host_types.\(name).watts",
                            line: type.line(of: "watts"),
                            file: file
                        )
                    )
                )
            }
        }

        var hosts: [Int] = []
        let hostsSection = try config.section("hosts")
        if let hostsSection {
            let count = try hostsSection.int("count", in: 0...1_000_000) ?? 0
            let types = try hostsSection.stringList("types") ?? hostTypes.map(\.name)
            let indices = try types.map { name -> Int in
                guard let index = hostTypes.firstIndex(where: { $0.name == name }) else {
                    throw ConfigError(
                        file: file,
                        line: hostsSection.line(of: "types"),
                        key: "hosts.types",
                        problem: "'\(name)' is not one of host_types (\(hostTypes.map(\.name).joined(separator: ", ")))"
                    )
                }
                return index
            }
            if !indices.isEmpty { hosts = (0..<count).map { indices[$0 % indices.count] } }
        }
        guard !hosts.isEmpty else {
            throw ConfigError(
                file: file,
                line: hostsSection.flatMap { $0.line(of: "count") } ?? config.line(of: "hosts"),
                key: hostsSection == nil ? "hosts" : "hosts.count",
                problem: "the scenario has no hosts (hosts: { count: N, types: [...] } with N ≥ 1 and host_types)"
            )
        }

        var vmTypes: [Scenario.VMType] = []
        if let section = try config.section("vm_types") {
            for name in section.keys {
                guard let type = try section.section(name) else { continue }
                vmTypes.append(
                    Scenario.VMType(
                        mips: try required(type.double("mips", in: 1...1e9), "mips", in: type, file: file),
                        memoryBytes: (try type.double("memory_mb", in: 0...1e12) ?? 0) * 1_000_000
                    )
                )
            }
        }
        guard !vmTypes.isEmpty else {
            throw ConfigError(
                file: file,
                line: config.line(of: "vm_types"),
                key: "vm_types",
                problem: "the scenario has no VM types"
            )
        }
        var powerManagement = PowerManagement.defaults(for: .suspend)
        if let section = try config.section("power_management") {
            let method = try section.choice("method", from: PowerManagement.Method.allCases.map(\.rawValue))
            powerManagement = .defaults(for: method.flatMap(PowerManagement.Method.init(rawValue:)) ?? .suspend)
            let limit = Double(interval.components.seconds)
            if let value = try section.double("sleep_seconds", in: 0...limit) { powerManagement.sleepSeconds = value }
            if let value = try section.double("wake_seconds", in: 0...limit) { powerManagement.wakeSeconds = value }
            if let value = try section.double("standby_watts", in: 0...10_000) { powerManagement.standbyWatts = value }
            if let value = try section.int("reserve_hosts", in: 0...1_000_000) { powerManagement.reserveHosts = value }
            if let value = try section.duration("minimum_awake") {
                powerManagement.minimumAwakeSeconds = Double(value.components.seconds)
            }
            if let value = try section.duration("minimum_asleep") {
                powerManagement.minimumAsleepSeconds = Double(value.components.seconds)
            }
        }
        let followsCloudSimCode = try config.bool("cloudsim_code") ?? false
        if followsCloudSimCode, profile != .cloudsim {
            throw ConfigError(
                file: file,
                line: config.line(of: "cloudsim_code"),
                key: "cloudsim_code",
                problem: "CloudSim's code is followed only in the cloudsim profile"
            )
        }
        try config.rejectUnknownKeys()
        return try Scenario(
            profile: profile,
            intervalSeconds: Double(interval.components.seconds),
            hostTypes: hostTypes,
            hosts: hosts,
            vmTypes: vmTypes,
            migrationPerformance: migrationPerformance,
            powerManagement: powerManagement,
            followsCloudSimCode: followsCloudSimCode
        )
    }

    private static func powerModel(_ watts: [Double], key: String, line: Int?, file: String) throws -> HostPowerModel {
        do {
            return try HostPowerModel.specPower(watts)
        } catch {
            throw ConfigError(file: file, line: line, key: key, problem: "\(error)")
        }
    }

    private static func required<T>(_ value: T?, _ key: String, in section: ConfigSection, file: String) throws -> T {
        guard let value else {
            throw ConfigError(file: file, line: nil, key: "\(section.path).\(key)", problem: "is required")
        }
        return value
    }
}
