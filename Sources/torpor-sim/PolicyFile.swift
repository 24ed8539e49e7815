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
        let name = try config.string("name") ?? defaultName
        try config.rejectUnknownKeys()
        return SimulationPolicy(name: name, initialPlacement: placement, migration: migration)
    }
}
