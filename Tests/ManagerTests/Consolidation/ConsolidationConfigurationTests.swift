import ConfigFile
import Placement
import Testing

@testable import Manager

@Suite struct ConsolidationConfigurationTests {
    @Test func defaults() throws {
        let configuration = try ManagerConfiguration.load(yaml: "", file: "manager.yaml")
        #expect(configuration.estimator.window == 15)
        #expect(!configuration.estimator.isStatic)
        #expect(configuration.estimator.packingDensity == .one)
        #expect(configuration.estimator.sortNorm == .l1)
        #expect(configuration.estimator.refreshInterval == .seconds(15))
        // Thresholds on by default, in order.
        #expect(configuration.relocation.enabled)
        #expect(configuration.relocation.thresholds == .default)
        #expect(configuration.relocation.thresholds.minimum == ResourceFractions(uniform: 0.2))
        #expect(configuration.relocation.thresholds.maximum == ResourceFractions(uniform: 0.9))
        #expect(configuration.consolidation.bandwidthBytesPerSecond == 125_000_000)
        #expect(configuration.consolidation.schedule == nil)
        #expect(configuration.consolidation.policy == .costAware)
        #expect(configuration.consolidation.budget == .seconds(1800))
        #expect(configuration.consolidation.spareHostShare == 0)
    }

    @Test func everyKey() throws {
        let configuration = try ManagerConfiguration.load(
            yaml: """
                ring_capacity: 40
                estimator:
                  window: 40
                  static: true
                  packing_density: 0.5
                  sort_norm: euclid
                  refresh_interval: 30s
                relocation:
                  enabled: false
                  thresholds:
                    min: 0.1
                    mid: 0.7
                    max: 0.85
                    memory:
                      max: 0.95
                    network:
                      min: 0.05
                consolidation:
                  schedule: "0 1 * * *"
                  policy: sercon
                  budget: 10m
                  bandwidth: 1250000000
                  spare_host_share: 0.04
                """,
            file: "manager.yaml"
        )
        #expect(configuration.estimator.window == 40)
        #expect(configuration.estimator.isStatic)
        #expect(configuration.estimator.packingDensity == ResourceFractions(uniform: 0.5))
        #expect(
            configuration.estimator.estimator
                == Estimator(window: 40, isStatic: true, packingDensity: .init(uniform: 0.5))
        )
        #expect(configuration.estimator.sortNorm == .euclid)
        #expect(configuration.estimator.refreshInterval == .seconds(30))
        #expect(!configuration.relocation.enabled)
        let thresholds = configuration.relocation.thresholds
        #expect(thresholds.minimum == ResourceFractions(cpu: 0.1, memory: 0.1, networkRx: 0.05, networkTx: 0.05))
        #expect(thresholds.mid == ResourceFractions(uniform: 0.7))
        #expect(thresholds.maximum == ResourceFractions(cpu: 0.85, memory: 0.95, networkRx: 0.85, networkTx: 0.85))
        #expect(configuration.consolidation.schedule?.expression == "0 1 * * *")
        #expect(configuration.consolidation.policy == .sercon)
        #expect(configuration.consolidation.budget == .seconds(600))
        #expect(configuration.consolidation.bandwidthBytesPerSecond == 1.25e9)
        #expect(configuration.consolidation.spareHostShare == 0.04)
    }

    @Test func theCostAwarePolicyGetsTheSpareHostShare() throws {
        let configuration = try ManagerConfiguration.load(
            yaml: "consolidation:\n  spare_host_share: 0.1\n",
            file: "manager.yaml"
        )
        let policy = PlacementLoadPlanner(configuration: configuration).consolidationPolicy
        #expect((policy as? CostAwareConsolidation)?.spareHostShare == 0.1)
    }

    /// Each bad value names its key, its line where there is one, and the problem.
    @Test(
        arguments: [
            (
                "consolidation:\n  schedule: \"0 25 * * *\"\n", "consolidation.schedule", 2,
                "hour '25': 25 is outside 0-23"
            ),
            ("consolidation:\n  schedule: \"0 1 * *\"\n", "consolidation.schedule", 2, "expected 5 fields"),
            (
                "relocation:\n  thresholds:\n    min: 0.9\n    mid: 0.8\n    max: 0.95\n", "relocation.thresholds", 2,
                "cpu thresholds out of order: MIN 0.9 must be below MID 0.8 (MIN < MID < MAX)"
            ),
            (
                "relocation:\n  thresholds:\n    mid: 0.95\n    max: 0.9\n", "relocation.thresholds", 2,
                "cpu thresholds out of order: MID 0.95 must be below MAX 0.9"
            ),
            (
                "relocation:\n  thresholds:\n    memory:\n      min: 0.85\n", "relocation.thresholds", 2,
                "memory thresholds out of order: MIN 0.85 must be below MID 0.8"
            ),
            ("relocation:\n  thresholds:\n    max: 1.5\n", "relocation.thresholds.max", 3, "outside 0.0...1.0"),
            ("relocation:\n  thresholds:\n    maximum: 0.9\n", "relocation.thresholds.maximum", 3, "unknown key"),
            ("estimator:\n  window: 31\n", "estimator.window", 2, "more than ring_capacity keeps (30)"),
            ("estimator:\n  sort_norm: l2\n", "estimator.sort_norm", 2, "not one of l1, euclid, max"),
            ("estimator:\n  packing_density: 0\n", "estimator.packing_density", 2, "outside"),
            ("consolidation:\n  policy: magic\n", "consolidation.policy", 2, "not one of sercon, cost-aware"),
            ("consolidation:\n  budget: forever\n", "consolidation.budget", 2, "expected a duration"),
            ("consolidation:\n  spare_host_share: 5\n", "consolidation.spare_host_share", 2, "outside 0.0...1.0"),
        ]
    )
    func badValuesNameTheKeyAndLine(yaml: String, key: String, line: Int, hint: String) {
        #expect {
            try ManagerConfiguration.load(yaml: yaml, file: "manager.yaml")
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.key == key && error.line == line && "\(error)".contains(hint)
                && "\(error)".hasPrefix("manager.yaml:\(line): \(key): ")
        }
    }
}
