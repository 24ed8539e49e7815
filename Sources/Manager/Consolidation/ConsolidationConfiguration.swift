import ConfigFile
import Placement

/// `estimator:` in manager.yaml: how monitoring becomes each VM's estimated demand (Snooze's `estimator.*`).
public struct EstimatorConfiguration: Sendable, Equatable {
    /// The newest samples averaged (Snooze: 15 of the 30 kept); at most `ring_capacity`.
    public var window = Estimator.defaultWindow
    /// Ignore samples: every VM counts at its request × packing density (Snooze's `estimator.static`).
    public var isStatic = false
    /// Below 1 overcommits: a VM without samples counts at this fraction of its request, per dimension.
    public var packingDensity = ResourceFractions.one
    /// How hosts and VMs are ranked by size (on vectors normalised to the host, unlike Snooze).
    public var sortNorm = VectorNorm.l1
    /// How often estimates are refreshed and relocation looks for overloaded and underloaded hosts.
    public var refreshInterval: Duration = .seconds(15)

    public var estimator: Estimator {
        Estimator(window: window, isStatic: isStatic, packingDensity: packingDensity)
    }

    public init() {}

    static func load(_ section: ConfigSection, ringCapacity: Int) throws -> EstimatorConfiguration {
        var result = EstimatorConfiguration()
        if let value = try section.int("window", in: 1...100_000) {
            guard value <= ringCapacity else {
                throw ConfigError(
                    file: section.file,
                    line: section.line(of: "window"),
                    key: "\(section.path).window",
                    problem: "\(value) samples is more than ring_capacity keeps (\(ringCapacity))"
                )
            }
            result.window = value
        }
        if let value = try section.bool("static") { result.isStatic = value }
        if let value = try section.double("packing_density", in: 0.05...1) {
            result.packingDensity = ResourceFractions(uniform: value)
        }
        if let value = try section.choice("sort_norm", from: VectorNorm.allCases.map(\.configName)) {
            result.sortNorm = VectorNorm.allCases.first { $0.configName == value } ?? .l1
        }
        if let value = try section.duration("refresh_interval", minimum: .seconds(1)) { result.refreshInterval = value }
        return result
    }
}

extension VectorNorm {
    /// The word manager.yaml uses.
    public var configName: String {
        switch self {
        case .l1: "l1"
        case .euclid: "euclid"
        case .max: "max"
        }
    }
}

/// `relocation:` in manager.yaml: overload and underload relief on every estimate refresh.
public struct RelocationConfiguration: Sendable, Equatable {
    public var enabled = true
    /// MIN, MID and MAX per dimension (`Placement.RelocationThresholds`): on by default, 0.2 / 0.8 / 0.9.
    public var thresholds = RelocationThresholds.default

    public init() {}

    /// `thresholds:` holds `min`, `mid`, `max` for every dimension, and optionally `cpu:`, `memory:` and
    /// `network:` mappings of the same keys for one dimension (network sets both directions).
    static func load(_ section: ConfigSection) throws -> RelocationConfiguration {
        var result = RelocationConfiguration()
        if let value = try section.bool("enabled") { result.enabled = value }
        guard let thresholds = try section.section("thresholds") else { return result }
        var values = Values(result.thresholds)
        try values.apply(thresholds, to: ResourceDimension.allCases)
        for (key, dimensions) in [
            ("cpu", [ResourceDimension.cpu]), ("memory", [.memory]), ("network", [.networkRx, .networkTx]),
        ] {
            guard let one = try thresholds.section(key) else { continue }
            try values.apply(one, to: dimensions)
        }
        do {
            result.thresholds = try RelocationThresholds(
                minimum: values.minimum,
                mid: values.mid,
                maximum: values.maximum
            )
        } catch {
            throw ConfigError(
                file: section.file,
                line: section.line(of: "thresholds"),
                key: "\(section.path).thresholds",
                problem: error.description
            )
        }
        return result
    }

    /// Thresholds as read, before they are checked.
    private struct Values {
        var minimum: ResourceFractions
        var mid: ResourceFractions
        var maximum: ResourceFractions

        init(_ thresholds: RelocationThresholds) {
            minimum = thresholds.minimum
            mid = thresholds.mid
            maximum = thresholds.maximum
        }

        mutating func apply(_ section: ConfigSection, to dimensions: [ResourceDimension]) throws {
            let low = try section.double("min", in: 0...1)
            let middle = try section.double("mid", in: 0...1)
            let high = try section.double("max", in: 0...1)
            for dimension in dimensions {
                if let low { minimum[dimension] = low }
                if let middle { mid[dimension] = middle }
                if let high { maximum[dimension] = high }
            }
        }
    }
}

/// `consolidation:` in manager.yaml: packing VMs onto fewer hosts so the energy saver can put the rest to sleep.
public struct ConsolidationConfiguration: Sendable, Equatable {
    /// When scheduled runs happen (`schedule`, a cron expression in the manager's time zone); nil: on demand only.
    public var schedule: CronSchedule?
    public var policy = ConsolidationPolicyName.costAware
    /// The most a plan may cost: the sum of its migrations' estimated times. A dearer plan is not run.
    public var budget: Duration = .seconds(1800)
    /// The bandwidth one migration is expected to get, bytes per second: the cost model's (1 Gbit/s).
    public var bandwidthBytesPerSecond = MigrationCostModel().bandwidthBytesPerSecond
    /// Hosts the cost-aware policy keeps beyond those the load needs, as a share of them: fewer migrations and more
    /// headroom for a little energy (`CostAwareConsolidation.spareHostShare`).
    public var spareHostShare = 0.0

    public init() {}

    static func load(_ section: ConfigSection) throws -> ConsolidationConfiguration {
        var result = ConsolidationConfiguration()
        if let text = try section.string("schedule") {
            do {
                result.schedule = try CronSchedule(parsing: text)
            } catch {
                throw ConfigError(
                    file: section.file,
                    line: section.line(of: "schedule"),
                    key: "\(section.path).schedule",
                    problem: error.description
                )
            }
        }
        if let value = try section.choice("policy", from: ConsolidationPolicyName.allCases.map(\.rawValue)) {
            result.policy = ConsolidationPolicyName(rawValue: value) ?? .costAware
        }
        if let value = try section.duration("budget", minimum: .seconds(1)) { result.budget = value }
        if let value = try section.int("bandwidth", in: 1_000_000...1_000_000_000_000) {
            result.bandwidthBytesPerSecond = Double(value)
        }
        if let value = try section.double("spare_host_share", in: 0...1) { result.spareHostShare = value }
        return result
    }
}

/// The consolidation policies manager.yaml can name.
public enum ConsolidationPolicyName: String, Sendable, CaseIterable {
    /// Snooze's modified Sercon: the least loaded host's VMs onto the others, all or nothing per host.
    case sercon
    /// Keeps the hosts cheapest to keep and moves the VMs cheapest to move (memory to copy, dirty rate).
    case costAware = "cost-aware"
}
