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

/// Snooze's MIN, MID and MAX per dimension, as fractions of a host's capacity: a host is underloaded when every
/// dimension of its estimated use is below MIN, overloaded when any is above MAX, and relocation and consolidation
/// fill a destination to at most MID.
public struct LoadThresholds: Sendable, Hashable {
    public var minimum: ResourceFractions
    public var middle: ResourceFractions
    public var maximum: ResourceFractions

    /// On by default (Snooze shipped 0, 1, 1, which never fires).
    public static let `default` = LoadThresholds(
        minimum: ResourceFractions(uniform: 0.2),
        middle: ResourceFractions(uniform: 0.8),
        maximum: ResourceFractions(uniform: 0.9)
    )

    public init(minimum: ResourceFractions, middle: ResourceFractions, maximum: ResourceFractions) {
        self.minimum = minimum
        self.middle = middle
        self.maximum = maximum
    }

    /// Why these thresholds cannot work, naming the dimension and values; nil when 0 <= MIN < MID < MAX <= 1 in
    /// every dimension.
    public var problem: String? {
        for dimension in ResourceDimension.allCases {
            let (low, mid, high) = (minimum[dimension], middle[dimension], maximum[dimension])
            let name = dimension.configName
            guard low >= 0, high <= 1 else {
                return "\(name): every threshold must be between 0 and 1 (min \(low), max \(high))"
            }
            guard low < mid else { return "\(name): min \(low) must be below mid \(mid) (min < mid < max)" }
            guard mid < high else { return "\(name): mid \(mid) must be below max \(high) (min < mid < max)" }
        }
        return nil
    }
}

extension ResourceDimension {
    var configName: String {
        switch self {
        case .cpu: "cpu"
        case .memory: "memory"
        case .networkRx: "network_rx"
        case .networkTx: "network_tx"
        }
    }
}

/// `relocation:` in manager.yaml: overload and underload relief on every estimate refresh.
public struct RelocationConfiguration: Sendable, Equatable {
    public var enabled = true
    public var thresholds = LoadThresholds.default

    public init() {}

    /// `thresholds:` holds `min`, `mid`, `max` for every dimension, and optionally `cpu:`, `memory:` and
    /// `network:` mappings of the same keys for one dimension (network sets both directions).
    static func load(_ section: ConfigSection) throws -> RelocationConfiguration {
        var result = RelocationConfiguration()
        if let value = try section.bool("enabled") { result.enabled = value }
        guard let thresholds = try section.section("thresholds") else { return result }
        var values = result.thresholds
        try Self.apply(thresholds, to: ResourceDimension.allCases, &values)
        for (key, dimensions) in [
            ("cpu", [ResourceDimension.cpu]), ("memory", [.memory]), ("network", [.networkRx, .networkTx]),
        ] {
            guard let one = try thresholds.section(key) else { continue }
            try Self.apply(one, to: dimensions, &values)
        }
        if let problem = values.problem {
            throw ConfigError(
                file: section.file,
                line: section.line(of: "thresholds"),
                key: "\(section.path).thresholds",
                problem: problem
            )
        }
        result.thresholds = values
        return result
    }

    private static func apply(
        _ section: ConfigSection,
        to dimensions: [ResourceDimension],
        _ values: inout LoadThresholds
    ) throws {
        let low = try section.double("min", in: 0...1)
        let mid = try section.double("mid", in: 0...1)
        let high = try section.double("max", in: 0...1)
        for dimension in dimensions {
            if let low { values.minimum[dimension] = low }
            if let mid { values.middle[dimension] = mid }
            if let high { values.maximum[dimension] = high }
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
