import ConfigFile
import Placement

/// A host's power model for `placement_policy: power-aware`, from `hosts.<id>.power` in manager.yaml: measured
/// `idle_watts` and `max_watts` (a straight line), or a SPECpower-style `spec_power` table of eleven values (watts
/// at 0 %, 10 %, …, 100 % CPU). A host without one is taken at `HostPowerModel.defaultLinear`.
enum HostPowerModelConfiguration {
    static func load(_ host: ConfigSection) throws -> HostPowerModel? {
        guard let section = try host.section("power") else { return nil }
        let key = "\(section.path)"
        let table = try section.stringList("spec_power")
        let idle = try section.double("idle_watts", in: 0...100_000)
        let max = try section.double("max_watts", in: 0...100_000)
        // A misspelt key is named as such, not as a missing one.
        try section.rejectUnknownKeys()
        if let table {
            guard idle == nil, max == nil else {
                throw ConfigError(
                    file: section.file,
                    line: section.line(of: "spec_power"),
                    key: "\(key).spec_power",
                    problem: "give either spec_power or idle_watts and max_watts, not both"
                )
            }
            var watts: [Double] = []
            for item in table {
                guard let value = Double(item) else {
                    throw ConfigError(
                        file: section.file,
                        line: section.line(of: "spec_power"),
                        key: "\(key).spec_power",
                        problem: "'\(item)' is not a number of watts"
                    )
                }
                watts.append(value)
            }
            return try model(section, "\(key).spec_power") { () throws(HostPowerModel.ModelError) in
                try HostPowerModel.specPower(watts)
            }
        }
        guard let idle, let max else {
            throw ConfigError(
                file: section.file,
                line: nil,
                key: "\(key).\(idle == nil ? "idle_watts" : "max_watts")",
                problem: "missing: a power model needs idle_watts and max_watts, or spec_power"
            )
        }
        return try model(section, "\(key).max_watts") { () throws(HostPowerModel.ModelError) in
            try HostPowerModel.linear(idleWatts: idle, maxWatts: max)
        }
    }

    private static func model(
        _ section: ConfigSection,
        _ key: String,
        _ make: () throws(HostPowerModel.ModelError) -> HostPowerModel
    ) throws -> HostPowerModel {
        do {
            return try make()
        } catch {
            throw ConfigError(file: section.file, line: nil, key: key, problem: error.description)
        }
    }
}
