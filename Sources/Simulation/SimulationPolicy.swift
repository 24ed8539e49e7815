import Placement

/// What the simulated cluster runs: how VMs are first placed, and how (whether) they are migrated every interval.
public struct SimulationPolicy: Sendable, Hashable {
    public enum InitialPlacement: String, Sendable, Hashable {
        /// Power-aware best fit (PABFD), VMs taken at their full MIPS.
        case powerAware = "power-aware"
        /// First host the VM fits on at its full MIPS (CloudSim's PowerVmAllocationPolicySimple).
        case firstFit = "first-fit"
    }

    public enum Migration: Sendable, Hashable {
        /// No migration at all: CloudSim's DVFS baseline.
        case none
        /// Beloglazov & Buyya's dynamic consolidation: hosts found overloaded by `detector` shed VMs chosen by
        /// MMT; every other host, least utilised first, is evacuated if all its VMs fit elsewhere (PABFD).
        case beloglazov(detector: OverloadDetector)
        /// Torpor's relocation every interval, consolidation on a schedule, hosts left empty asleep.
        case torpor(TorporPolicy)
    }

    public var name: String
    public var initialPlacement: InitialPlacement
    public var migration: Migration

    public init(name: String, initialPlacement: InitialPlacement, migration: Migration) {
        self.name = name
        self.initialPlacement = initialPlacement
        self.migration = migration
    }

    public static func thrMMT(_ threshold: Double) -> SimulationPolicy {
        SimulationPolicy(
            name: "THR-MMT-\(format(threshold))",
            initialPlacement: .powerAware,
            migration: .beloglazov(detector: .staticThreshold(threshold))
        )
    }

    public static func madMMT(_ safety: Double) -> SimulationPolicy {
        SimulationPolicy(
            name: "MAD-MMT-\(format(safety))",
            initialPlacement: .powerAware,
            migration: .beloglazov(
                detector: .medianAbsoluteDeviation(
                    safety: safety,
                    fallbackThreshold: OverloadDetector.defaultFallbackThreshold
                )
            )
        )
    }

    public static func lrMMT(_ safety: Double) -> SimulationPolicy {
        SimulationPolicy(
            name: "LR-MMT-\(format(safety))",
            initialPlacement: .powerAware,
            migration: .beloglazov(
                detector: .localRegression(safety: safety, fallbackThreshold: OverloadDetector.defaultFallbackThreshold)
            )
        )
    }

    public static let dvfs = SimulationPolicy(name: "DVFS", initialPlacement: .firstFit, migration: .none)

    /// Torpor's relocation (0.2 / 0.8 / 0.9) with `consolidation` every hour, a 30-minute budget, the migration cost
    /// model at CloudSim's 62.5 MB/s per migration; VMs first placed by PABFD like the reference policies'.
    public static func torpor(_ consolidation: TorporPolicy.Consolidation) -> SimulationPolicy {
        SimulationPolicy(
            name: "Torpor-\(consolidation.displayName)",
            initialPlacement: .powerAware,
            migration: .torpor(TorporPolicy(consolidation: consolidation, bandwidthBytesPerSecond: 62_500_000))
        )
    }

    /// The reference policies of the traces' README, in its order.
    public static let references: [SimulationPolicy] = [thrMMT(0.8), madMMT(2.5), lrMMT(1.2)]

    /// A built-in policy by name, case-insensitive: dvfs, thr-mmt-T, mad-mmt-S, lr-mmt-S, torpor-cost-aware,
    /// torpor-sercon, torpor-relocation.
    public static func named(_ text: String) -> SimulationPolicy? {
        let lower = text.lowercased()
        if lower == "dvfs" { return .dvfs }
        switch lower {
        case "torpor-cost-aware", "torpor": return torpor(.costAware)
        case "torpor-sercon": return torpor(.sercon)
        case "torpor-relocation": return torpor(.none)
        default: break
        }
        for (prefix, make) in [("thr-mmt-", thrMMT), ("mad-mmt-", madMMT), ("lr-mmt-", lrMMT)]
            as [(String, (Double) -> SimulationPolicy)]
        where lower.hasPrefix(prefix) {
            guard let value = Double(lower.dropFirst(prefix.count)), value.isFinite, value > 0 else { return nil }
            return make(value)
        }
        return nil
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) + ".0" : "\(value)"
    }
}
