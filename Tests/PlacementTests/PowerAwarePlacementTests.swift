import Placement
import Testing

/// Power-aware placement: one row per situation, with the placements expected ("vm→host", "!" where the host is
/// woken).
struct PowerAwarePlacementTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var hosts: [HostSnapshot]
        var vms: [VMRequest]
        var dimensions: Set<ResourceDimension> = Set(ResourceDimension.allCases)
        var placements: [String]
        var reasons: [String] = []

        var testDescription: String { name }
    }

    static let g4 = HostPowerModelTests.proLiantG4
    /// CloudSim's HP ProLiant ML110 G5 (Xeon 3075) SPECpower table.
    static let g5 = try! HostPowerModel.specPower([93.7, 97, 101, 105, 110, 116, 121, 125, 129, 133, 135])

    static func host(
        _ id: String,
        cores: Double,
        gib: Double = 64,
        state: HostState = .active,
        usedCores: Double = 0,
        model: HostPowerModel? = nil
    ) -> HostSnapshot {
        HostSnapshot(
            id: id,
            capacity: Fixtures.vector(cores: cores, gib: gib, rxGbit: 10, txGbit: 10),
            state: state,
            estimatedUse: Fixtures.vector(cores: usedCores),
            powerModel: model
        )
    }

    static let cases: [Case] = [
        Case(
            name: "linear models: the fewest watts per core wins",
            hosts: [
                host("steep", cores: 8, model: try! .linear(idleWatts: 100, maxWatts: 300)),
                host("flat", cores: 8, model: try! .linear(idleWatts: 150, maxWatts: 250)),
            ],
            vms: [Fixtures.vm("a", cores: 2)],
            placements: ["a→flat"]
        ),
        Case(
            name: "without a model a host has the default linear one, so a larger host grows less per core",
            hosts: [host("small", cores: 8), host("large", cores: 32)],
            vms: [Fixtures.vm("a", cores: 4), Fixtures.vm("b", cores: 4)],
            placements: ["a→large", "b→large"]
        ),
        Case(
            name: "a table's slope depends on the load: G4 at 40 % grows 2.5 W per 10 %, G5 at 0 % grows 3.3 W",
            hosts: [host("g5", cores: 10, model: g5), host("g4", cores: 10, usedCores: 4, model: g4)],
            vms: [Fixtures.vm("a", cores: 1)],
            placements: ["a→g4"]
        ),
        Case(
            name: "largest CPU demand first, then each on the cheapest host it fits",
            hosts: [host("g4", cores: 10, model: g4), host("g5", cores: 10, model: g5)],
            // G4 0 → 50 %: 16 W, G5: 22.3 W. Then 1 core: G4 at 50 % grows 4 W, G5 at 0 % 3.3 W.
            vms: [Fixtures.vm("small", cores: 1), Fixtures.vm("large", cores: 5)],
            placements: ["large→g4", "small→g5"]
        ),
        Case(
            name: "awake hosts before sleeping ones, however much cheaper the sleeper",
            hosts: [
                host("asleep", cores: 64, state: .sleeping, model: try! .linear(idleWatts: 10, maxWatts: 20)),
                host("awake", cores: 4, model: g5),
            ],
            vms: [Fixtures.vm("a", cores: 4), Fixtures.vm("b", cores: 1)],
            placements: ["a→awake", "b→asleep!"]
        ),
        Case(
            name: "waking costs the whole power: the sleeper with the lower idle power is woken",
            hosts: [
                host("hungry", cores: 8, state: .sleeping, model: try! .linear(idleWatts: 200, maxWatts: 210)),
                host("frugal", cores: 8, state: .sleeping, model: try! .linear(idleWatts: 80, maxWatts: 240)),
            ],
            vms: [Fixtures.vm("a", cores: 2), Fixtures.vm("b", cores: 2)],
            placements: ["a→frugal!", "b→frugal!"]
        ),
        Case(
            name: "all dimensions: memory rules out the cheaper host",
            hosts: [
                host("cheap", cores: 16, gib: 4, model: try! .linear(idleWatts: 50, maxWatts: 60)),
                host("roomy", cores: 16, gib: 64),
            ],
            vms: [Fixtures.vm("a", cores: 2, gib: 8)],
            placements: ["a→roomy"]
        ),
        Case(
            name: "CPU only, as CloudSim: memory is not checked",
            hosts: [
                host("cheap", cores: 16, gib: 4, model: try! .linear(idleWatts: 50, maxWatts: 60)),
                host("roomy", cores: 16, gib: 64),
            ],
            vms: [Fixtures.vm("a", cores: 2, gib: 8)],
            dimensions: [.cpu],
            placements: ["a→cheap"]
        ),
        Case(
            name: "CPU only still refuses a VM no host has the cores for",
            hosts: [host("h0", cores: 4, gib: 1)],
            vms: [Fixtures.vm("a", cores: 3, gib: 8), Fixtures.vm("b", cores: 2, gib: 8)],
            dimensions: [.cpu],
            placements: ["a→h0"],
            reasons: ["b: no host has 2 free cores; most free: h0 with 1"]
        ),
    ]

    @Test(arguments: cases)
    func rule(_ rule: Case) {
        let policy = PowerAwarePlacement(dimensions: rule.dimensions)
        let plan = policy.place(rule.vms, on: ClusterSnapshot(hosts: rule.hosts))
        #expect(plan.placements == rule.placements)
        #expect(plan.reasons == rule.reasons)
        #expect(plan.nextStartIndex == nil)
    }

    @Test func theDefaultModelCanBeChosen() {
        // With a steep default, the host that has its own flat model is cheaper.
        let hosts = [
            Self.host("default", cores: 8),
            Self.host("modelled", cores: 8, model: try! .linear(idleWatts: 100, maxWatts: 110)),
        ]
        let steep = try! HostPowerModel.linear(idleWatts: 0, maxWatts: 1000)
        let flat = try! HostPowerModel.linear(idleWatts: 0, maxWatts: 1)
        let vms = [Fixtures.vm("a", cores: 1)]
        let snapshot = ClusterSnapshot(hosts: hosts)
        #expect(PowerAwarePlacement(defaultModel: steep).place(vms, on: snapshot).placements == ["a→modelled"])
        #expect(PowerAwarePlacement(defaultModel: flat).place(vms, on: snapshot).placements == ["a→default"])
    }
}
