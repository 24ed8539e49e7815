import Logging
import Placement
import Testing
import Wire

@testable import Manager

/// Monitoring reports, as an agent sends them, through the agent session into the group manager's rings, and out
/// as estimates: per VM (the estimator over the newest samples) and per host (`torpor hosts`).
@Suite struct EstimatesTests {
    static let web = WireUUID("6695eb01-f6a4-8304-79aa-97f2502e193f")!
    static let db = WireUUID("0d3a4e8c-1b2f-4c5d-9e6f-7a8b9c0d1e2f")!
    static let idle = WireUUID("11111111-2222-3333-4444-555555555555")!

    static func inventory(_ host: String) -> Inventory {
        Inventory(
            hostID: host,
            vms: [
                .init(slot: 0, uuid: web, name: "web", state: .running, virtualCPUs: 2, memoryKiB: 2 << 20),
                .init(slot: 1, uuid: db, name: "db", state: .running, virtualCPUs: 4, memoryKiB: 8 << 20),
                .init(slot: 2, uuid: idle, name: "off", state: .shutOff, virtualCPUs: 1, memoryKiB: 1 << 20),
            ]
        )
    }

    /// Round `round` of the agent's sampling: web's CPU grows by 0.1 core a round, db holds 3 cores.
    static func report(_ round: Int) -> MonitoringReport {
        MonitoringReport(
            timestampMilliseconds: Int64(round) * 3_000,
            host: .init(
                cpuCoresInUse: 3,
                memoryInUseBytes: 6 << 30,
                networkRxBytesPerSecond: 0,
                networkTxBytesPerSecond: 0
            ),
            vms: [
                .init(
                    slot: 0,
                    state: .running,
                    cpuCoresInUse: Float(round) / 10,
                    memoryInUseKiB: 1 << 20,
                    networkRxBytesPerSecond: 1_000,
                    networkTxBytesPerSecond: 500,
                    diskReadBytesPerSecond: 0,
                    diskWriteBytesPerSecond: 0
                ),
                .init(
                    slot: 1,
                    state: .running,
                    cpuCoresInUse: 3,
                    memoryInUseKiB: 6 << 20,
                    networkRxBytesPerSecond: 0,
                    networkTxBytesPerSecond: 0,
                    diskReadBytesPerSecond: 0,
                    diskWriteBytesPerSecond: 0
                ),
            ]
        )
    }

    /// A registry fed like the manager feeds it: a join, an inventory and `rounds` reports through AgentSession.
    static func registry(estimator: Estimator, rounds: Int, ringCapacity: Int = 30) async -> HostRegistry {
        let logger = Logger(label: "test")
        let registry = HostRegistry(ringCapacity: ringCapacity, estimator: estimator, logger: logger)
        await registry.join(HostRegistryTests.agent("h1"), at: .now)
        let session = AgentSession(registry: registry, observer: nil, logger: logger)
        await session.handle(.inventory(inventory("h1")), from: "h1", logger: logger)
        for round in 1...max(1, rounds) where rounds > 0 {
            await session.handle(.monitoringReport(report(round)), from: "h1", logger: logger)
        }
        return registry
    }

    static func near(_ a: Double, _ b: Double) -> Bool { abs(a - b) < 1e-6 * max(1, abs(b)) }

    @Test func aVMsEstimateIsTheMeanOfItsNewestWindowOfSamples() async throws {
        let registry = await Self.registry(estimator: Estimator(window: 5), rounds: 20)
        let requested = ResourceVector(cpuCores: 2, memoryBytes: Double(2 << 30), networkRxBytesPerSecond: 5_000)
        let web = try #require(await registry.estimate(of: "\(Self.web)".lowercased(), requested: requested))
        // Rounds 16…20: 1.6 … 2.0 cores, mean 1.8.
        #expect(Self.near(web.estimated.cpuCores, 1.8), "\(web.estimated)")
        #expect(web.estimated.memoryBytes == Double(1 << 30))
        #expect(web.estimated.networkRxBytesPerSecond == 1_000)
        #expect(web.estimated.networkTxBytesPerSecond == 500)
        #expect(web.samples == 5)
        #expect(web.hostID == "h1")
    }

    @Test func fewerSamplesThanTheWindowAreAllAveraged() async throws {
        let registry = await Self.registry(estimator: Estimator(window: 15), rounds: 4)
        let web = try #require(await registry.estimate(of: "\(Self.web)".lowercased(), requested: .zero))
        #expect(Self.near(web.estimated.cpuCores, 0.25), "\(web.estimated)")
        #expect(web.samples == 4)
    }

    @Test func withoutSamplesOrStaticTheRequestTimesThePackingDensityCounts() async throws {
        let requested = ResourceVector(cpuCores: 2, memoryBytes: Double(2 << 30), networkRxBytesPerSecond: 5_000)
        let none = await Self.registry(estimator: Estimator(packingDensity: ResourceFractions(uniform: 0.5)), rounds: 0)
        let fresh = try #require(await none.estimate(of: "\(Self.web)".lowercased(), requested: requested))
        #expect(fresh.estimated == requested.scaled(by: 0.5))
        #expect(fresh.samples == 0)
        let fixed = await Self.registry(estimator: Estimator(isStatic: true), rounds: 10)
        let web = try #require(await fixed.estimate(of: "\(Self.web)".lowercased(), requested: requested))
        #expect(web.estimated == requested)
        #expect(web.samples == 0)
        #expect(await fixed.estimate(of: "00000000-0000-0000-0000-000000000000", requested: requested) == nil)
    }

    @Test func theRingBoundsTheSamples() async throws {
        // A ring of 3 reports: the window of 15 sees rounds 8…10 only.
        let registry = await Self.registry(estimator: Estimator(window: 15), rounds: 10, ringCapacity: 3)
        let web = try #require(await registry.estimate(of: "\(Self.web)".lowercased(), requested: .zero))
        #expect(Self.near(web.estimated.cpuCores, 0.9), "\(web.estimated)")
        #expect(web.samples == 3)
    }

    @Test func aHostsEstimateSumsItsActiveVMsNextToWhatTheyWereGiven() async throws {
        let registry = await Self.registry(estimator: Estimator(window: 5), rounds: 20)
        let host = try #require(await registry.statusHosts(at: .now).first)
        let estimate = try #require(host.estimate)
        // web 1.8 + db 3; the shut-off VM counts for nothing.
        #expect(Self.near(estimate.estimatedUse.cpuCores, 4.8), "\(estimate)")
        #expect(estimate.estimatedUse.memoryBytes == Double(7 << 30))
        #expect(estimate.requested.cpuCores == 6)
        #expect(estimate.requested.memoryBytes == Double(10 << 30))
        #expect(estimate.measuredVMs == 2)
    }

    @Test func aHostWithoutAnInventoryHasNoEstimate() async {
        let registry = HostRegistry(ringCapacity: 4, logger: Logger(label: "test"))
        await registry.join(HostRegistryTests.agent("h1"), at: .now)
        #expect(await registry.statusHosts(at: .now).first?.estimate == nil)
    }

    @Test func demandsNameEachVMWithItsHostAndSamplesOldestFirst() async {
        let registry = await Self.registry(estimator: Estimator(window: 3), rounds: 6)
        let demands = await registry.demands()
        #expect(demands.map(\.name) == ["web", "db", "off"])
        #expect(demands.allSatisfy { $0.hostID == "h1" })
        #expect(demands.first?.samples.map(\.cpuCores) == [0.4, 0.5, 0.6].map { Double(Float($0)) })
        #expect(demands.last?.samples.isEmpty == true)
        #expect(demands.first?.configured == ResourceVector(cpuCores: 2, memoryBytes: Double(2 << 30)))
    }
}
