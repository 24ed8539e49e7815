import ConfigFile
import Placement
import Simulation

/// A policy configuration in YAML, with manager.yaml's key names where the manager has the setting
/// (docs/sim.md):
///
///     name: THR-MMT-0.8
///     placement_policy: power-aware        # manager.yaml's key; or first-fit
///     migration:
///       policy: beloglazov                 # or none
///       overload_detector: thr             # thr, mad or lr
///       threshold: 0.8                     # thr
///       safety: 2.5                        # mad, lr
///       fallback_threshold: 0.7            # mad, lr, with too little history
///       vm_selection: mmt
///
/// or Torpor's own policies, with manager.yaml's `relocation:` and `consolidation:` sections:
///
///     relocation:
///       enabled: true
///       thresholds: { min: 0.2, mid: 0.8, max: 0.9 }   # or per dimension: cpu: { min: …, mid: …, max: … }
///     consolidation:
///       policy: cost-aware                 # or sercon, none
///       schedule: 60                       # minutes between runs, or a cron "*/N * * * *"
///       budget: 30m                        # the most a plan's migrations may take, one after another
///       bandwidth: 62500000                # bytes per second one migration gets, for the cost model
enum PolicyFile {
    static func load(_ file: String) throws -> SimulationPolicy {
        let config = try ConfigSection(contentsOf: file)
        let placementName = try config.choice("placement_policy", from: ["power-aware", "first-fit"]) ?? "power-aware"
        let placement = SimulationPolicy.InitialPlacement(rawValue: placementName) ?? .powerAware
        var migration = SimulationPolicy.Migration.none
        var defaultName = "none"
        if let section = try config.section("migration") {
            let policy = try section.choice("policy", from: ["beloglazov", "none"]) ?? "beloglazov"
            let detectorName = try section.choice("overload_detector", from: ["thr", "mad", "lr"]) ?? "thr"
            let threshold = try section.double("threshold", in: 0.01...1) ?? 0.8
            let safety = try section.double("safety", in: 0.01...100)
            let fallback =
                try section.double("fallback_threshold", in: 0.01...1) ?? OverloadDetector.defaultFallbackThreshold
            _ = try section.choice("vm_selection", from: ["mmt"])
            if policy == "beloglazov" {
                let detector: OverloadDetector
                switch detectorName {
                case "mad":
                    detector = .medianAbsoluteDeviation(safety: safety ?? 2.5, fallbackThreshold: fallback)
                    defaultName = "MAD-MMT-\(safety ?? 2.5)"
                case "lr":
                    detector = .localRegression(safety: safety ?? 1.2, fallbackThreshold: fallback)
                    defaultName = "LR-MMT-\(safety ?? 1.2)"
                default:
                    detector = .staticThreshold(threshold)
                    defaultName = "THR-MMT-\(threshold)"
                }
                migration = .beloglazov(detector: detector)
            }
        }
        let relocation = try config.section("relocation")
        let consolidation = try config.section("consolidation")
        let estimator = try config.section("estimator")
        if relocation != nil || consolidation != nil || estimator != nil {
            if case .beloglazov = migration {
                throw ConfigError(
                    file: file,
                    line: config.line(of: "migration"),
                    key: "migration",
                    problem: "Beloglazov's migration and Torpor's relocation/consolidation are two policies; give one"
                )
            }
            var torpor = try torporPolicy(relocation: relocation, consolidation: consolidation)
            if let estimator {
                // manager.yaml's range for the key.
                if let density = try estimator.double("packing_density", in: 0.05...1) {
                    torpor.packingDensity = density
                }
            }
            migration = .torpor(torpor)
            defaultName = "Torpor-\(torpor.consolidation.rawValue)"
        }
        let name = try config.string("name") ?? defaultName
        try config.rejectUnknownKeys()
        return SimulationPolicy(name: name, initialPlacement: placement, migration: migration)
    }

    static func torporPolicy(relocation: ConfigSection?, consolidation: ConfigSection?) throws -> TorporPolicy {
        var policy = TorporPolicy(bandwidthBytesPerSecond: 62_500_000)
        if let relocation {
            if let value = try relocation.bool("enabled") { policy.relocationEnabled = value }
            if let thresholds = try relocation.section("thresholds") {
                var minimum = policy.thresholds.minimum
                var mid = policy.thresholds.mid
                var maximum = policy.thresholds.maximum
                func apply(_ section: ConfigSection, to dimensions: [ResourceDimension]) throws {
                    let low = try section.double("min", in: 0...1)
                    let middle = try section.double("mid", in: 0...1)
                    let high = try section.double("max", in: 0...1)
                    for dimension in dimensions {
                        if let low { minimum[dimension] = low }
                        if let middle { mid[dimension] = middle }
                        if let high { maximum[dimension] = high }
                    }
                }
                try apply(thresholds, to: ResourceDimension.allCases)
                for (key, dimensions) in [
                    ("cpu", [ResourceDimension.cpu]), ("memory", [.memory]), ("network", [.networkRx, .networkTx]),
                ] {
                    if let one = try thresholds.section(key) { try apply(one, to: dimensions) }
                }
                do {
                    policy.thresholds = try RelocationThresholds(minimum: minimum, mid: mid, maximum: maximum)
                } catch {
                    throw ConfigError(
                        file: relocation.file,
                        line: relocation.line(of: "thresholds"),
                        key: "\(relocation.path).thresholds",
                        problem: error.description
                    )
                }
            }
        }
        if let consolidation {
            if let value = try consolidation.choice(
                "policy",
                from: TorporPolicy.Consolidation.allCases.map(\.rawValue)
            ) {
                policy.consolidation = TorporPolicy.Consolidation(rawValue: value) ?? .costAware
            }
            if let text = try consolidation.string("schedule") {
                guard let minutes = scheduleMinutes(text) else {
                    throw ConfigError(
                        file: consolidation.file,
                        line: consolidation.line(of: "schedule"),
                        key: "\(consolidation.path).schedule",
                        problem: "'\(text)' is neither minutes between runs nor a cron '*/N * * * *' or 'M * * * *'"
                    )
                }
                policy.scheduleSeconds = Double(minutes) * 60
            }
            if let value = try consolidation.duration("budget", minimum: .seconds(1)) {
                policy.budgetSeconds = value / .seconds(1)
            }
            if let value = try consolidation.int("bandwidth", in: 1_000_000...1_000_000_000_000) {
                policy.bandwidthBytesPerSecond = Double(value)
            }
        }
        return policy
    }

    /// Minutes between runs: a whole number of minutes, or the cron forms a fixed period can be read from:
    /// "*/N * * * *" (every N minutes) and "M * * * *" (hourly).
    static func scheduleMinutes(_ text: String) -> Int? {
        if let minutes = Int(text), minutes > 0 { return minutes }
        let fields = text.split(separator: " ")
        guard fields.count == 5, fields.dropFirst().allSatisfy({ $0 == "*" }) else { return nil }
        if fields[0].hasPrefix("*/"), let minutes = Int(fields[0].dropFirst(2)), (1...59).contains(minutes) {
            return minutes
        }
        if let minute = Int(fields[0]), (0...59).contains(minute) { return 60 }
        return nil
    }
}
