import Foundation
import Logging
import ServiceLifecycle
import Testing

@testable import Manager

#if canImport(Glibc)
import Glibc
#endif

/// The manager's services, run in a real `ServiceGroup`.
@Suite struct ManagerServicesTests {
    let logger = Logger(label: "test")

    final class Calls<Value: Sendable>: @unchecked Sendable {
        // @unchecked: `values` is only touched while holding `lock`.
        private let lock = NSLock()
        private var values: [Value] = []

        func append(_ value: Value) { lock.withLock { values.append(value) } }
        var all: [Value] { lock.withLock { values } }
    }

    /// Polls `condition` until it holds or `timeout` passes.
    static func eventually(timeout: Duration = .seconds(90), _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return await condition()
    }

    /// Runs `services` in a group, calls `body`, then shuts the group down gracefully and returns how it ended.
    static func run(
        _ services: [any Service],
        logger: Logger,
        _ body: () async throws -> Void
    ) async throws -> Result<Void, any Error> {
        let group = ServiceGroup(services: services, logger: logger)
        let running = Task { () -> Result<Void, any Error> in
            do {
                try await group.run()
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        do {
            try await body()
        } catch {
            await group.triggerGracefulShutdown()
            _ = await running.value
            throw error
        }
        await group.triggerGracefulShutdown()
        return await running.value
    }

    @Test func theFailureDetectorHandsEachSilentHostToTheLeaderOnce() async throws {
        let registry = HostRegistry(ringCapacity: 4, logger: logger)
        await registry.join(HostRegistryTests.agent("h1"), at: .now)
        let failed = Calls<[String]>()
        let detector = FailureDetectorService(registry: registry, timeout: .milliseconds(400)) { hosts in
            failed.append(hosts.map(\.hostID))
        }
        let ended = try await Self.run([detector], logger: logger) {
            #expect(await Self.eventually { !failed.all.isEmpty })
            // Several more rounds: h1 is not reported again.
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(failed.all == [["h1"]])
        #expect(await registry.host("h1")?.state == .failed)
        #expect((try? ended.get()) != nil, "\(ended)")
    }

    @Test func theEnergyServiceEvaluatesEachIntervalUntilShutdown() async throws {
        let evaluations = Calls<ContinuousClock.Instant>()
        let energy = EnergyService(interval: .milliseconds(100)) { evaluations.append(.now) }
        let ended = try await Self.run([energy], logger: logger) {
            #expect(await Self.eventually { evaluations.all.count >= 3 })
        }
        #expect((try? ended.get()) != nil, "\(ended)")
        let stopped = evaluations.all.count
        try await Task.sleep(for: .milliseconds(300))
        #expect(evaluations.all.count == stopped, "evaluations continued after shutdown")
    }

    /// A wall clock 20 s further on at each reading, so "every minute" fires at about every third refresh.
    final class SteppingClock: @unchecked Sendable {
        private let lock = NSLock()
        private var time = Date(timeIntervalSince1970: 1_796_000_000)  // 2026-11-30 10:13:20 UTC

        func read() -> Date {
            lock.withLock {
                time += 20
                return time
            }
        }
    }

    @Test func theConsolidationServiceRefreshesEachIntervalAndFiresTheScheduleWhenItsTimeComes() async throws {
        let clock = SteppingClock()
        let events = Calls<String>()
        let service = ConsolidationService(
            refreshInterval: .milliseconds(20),
            schedule: try CronSchedule(parsing: "* * * * *"),
            timeZone: TimeZone(identifier: "UTC")!,
            now: { clock.read() },
            scheduleFired: { events.append("fire") },
            refresh: { events.append("refresh") }
        )
        let ended = try await Self.run([service], logger: logger) {
            #expect(await Self.eventually { events.all.filter { $0 == "fire" }.count >= 3 })
        }
        #expect((try? ended.get()) != nil, "\(ended)")
        let all = events.all
        // The first reading (10:13:40) sets the first fire at 10:14:00, which the first tick reads: it fires, then
        // refreshes. Each tick reads the clock once, 20 s on, so three refreshes separate two fires: "every
        // minute" of the clock, once each.
        #expect(Array(all.prefix(2)) == ["fire", "refresh"], "\(all)")
        let fires = all.indices.filter { all[$0] == "fire" }
        for (one, next) in zip(fires, fires.dropFirst()) {
            #expect(all[one..<next].filter { $0 == "refresh" }.count == 3, "\(all)")
        }
        let stopped = all.count
        try await Task.sleep(for: .milliseconds(200))
        #expect(events.all.count == stopped, "the service went on after shutdown")
    }

    @Test func withoutAScheduleTheConsolidationServiceOnlyRefreshes() async throws {
        let events = Calls<String>()
        let service = ConsolidationService(
            refreshInterval: .milliseconds(20),
            schedule: nil,
            timeZone: TimeZone(identifier: "UTC")!,
            scheduleFired: { events.append("fire") },
            refresh: { events.append("refresh") }
        )
        let ended = try await Self.run([service], logger: logger) {
            #expect(await Self.eventually { events.all.count >= 3 })
        }
        #expect((try? ended.get()) != nil, "\(ended)")
        #expect(!events.all.contains("fire"))
    }

    @Test func theManagersServicesServeInOrderThenStopGracefully() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("torpor-services-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = ManagerConfiguration()
        configuration.listen = "127.0.0.1:0"
        configuration.database = "\(directory)/manager.sqlite"
        configuration.energy.enabled = true
        let port = Calls<Int>()
        let daemon = ManagerDaemon(configuration: configuration, logger: logger) { port.append($0 ?? 0) }
        let services = try await daemon.services()
        #expect(
            services.map { "\(type(of: $0))" } == [
                "ServerService", "TaskService", "ReservationService", "EnergyService", "ConsolidationService",
                "FailureDetectorService", "ReadinessService",
            ]
        )
        let listening = try #require(port.all.first)
        #expect(listening > 0)
        let ended = try await Self.run(services, logger: logger) {
            #expect(Self.accepts(port: listening))
        }
        #expect((try? ended.get()) != nil, "\(ended)")
        // The server closed its socket on the way out (the close completes on its event loop: polled).
        #expect(await Self.eventually { !Self.accepts(port: listening) })
    }

    @Test func startupProblemsAreErrorsNamingTheSetting() async throws {
        var configuration = ManagerConfiguration()
        configuration.listen = "nowhere"
        await #expect {
            _ = try await ManagerDaemon(configuration: configuration, logger: logger).services()
        } throws: { error in
            "\(error)" == "cannot listen on nowhere (listen): not host:port"
        }
        configuration.listen = "127.0.0.1:0"
        configuration.database = "/nonexistent/directory/manager.sqlite"
        await #expect {
            _ = try await ManagerDaemon(configuration: configuration, logger: logger).services()
        } throws: { error in
            "\(error)".hasPrefix("cannot open the state database (database): ")
        }
    }

    @Test func plaintextOnlyOnLoopbackAndPrivateSecretFiles() async throws {
        var configuration = ManagerConfiguration()
        configuration.listen = "0.0.0.0:0"
        await #expect {
            _ = try await ManagerDaemon(configuration: configuration, logger: logger).services()
        } throws: { error in
            "\(error)".contains("tls.allow_plaintext") && "\(error)".contains("listen is 0.0.0.0")
        }
        configuration.tls.allowPlaintext = true
        await #expect {
            _ = try await ManagerDaemon(configuration: configuration, logger: logger).services()
        } throws: { error in
            "\(error)".contains("plaintext is allowed only on loopback addresses, but listen is 0.0.0.0")
        }

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("torpor-secrets-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let password = "\(directory)/host-1.password"
        try "secret\n".write(toFile: password, atomically: true, encoding: .utf8)
        chmod(password, 0o644)
        configuration.listen = "127.0.0.1:0"
        configuration.database = "\(directory)/manager.sqlite"
        configuration.hostWake["host-1"] = HostWakeConfiguration(
            drivers: [],
            bmc: .init(address: "127.0.0.1:623", user: "admin", passwordFile: password)
        )
        await #expect {
            _ = try await ManagerDaemon(configuration: configuration, logger: logger).services()
        } throws: { error in
            "\(error)".contains("\(password) holds a secret but its mode 644 lets every user read it")
        }
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    static func accepts(port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
