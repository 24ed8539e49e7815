import Libvirt
import Logging
import NIOCore
import Testing
import Wire

@testable import Agent

@Suite struct AgentMonitorTests {
    static func monitor(_ connection: LibvirtConnection, interval: Duration) async throws -> AgentMonitor {
        var configuration = AgentConfiguration(hostname: "monitor-test")
        configuration.sampleInterval = interval
        configuration.ringCapacity = 5
        return try await AgentMonitor(
            configuration: configuration,
            connection: connection,
            link: ManagerLinkStatus(address: nil),
            logger: Logger(label: "test")
        )
    }

    /// With a sampling interval of a minute, only the lifecycle event can bring the new VM into the inventory.
    @Test func lifecycleEventUpdatesInventoryBeforeTheNextInterval() async throws {
        let connection = try await LibvirtConnection.open("test:///default")
        let monitor = try await Self.monitor(connection, interval: .seconds(60))
        await monitor.sampleOnce()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await monitor.followLifecycleEvents(of: connection) }
            group.addTask { await monitor.runSampling() }
            try await Task.sleep(for: .milliseconds(200))
            _ = try await DomainCollectorTests.defineAndStart("event-vm", on: connection)
            var seen = false
            for _ in 0..<50 where !seen {
                seen = await monitor.inventory().vms.contains { $0.name == "event-vm" && $0.state == .running }
                if !seen { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(seen)
            group.cancelAll()
        }
        await connection.close()
    }

    /// Concurrent requests for a round (VM commands while sampling) never run two rounds at once, so the
    /// second reading of a VM still has rates computed from the first.
    @Test func concurrentRoundsAreSerialised() async throws {
        let connection = try await LibvirtConnection.open("test:///default")
        _ = try await DomainCollectorTests.defineAndStart("serial-vm", on: connection)
        let monitor = try await Self.monitor(connection, interval: .seconds(60))
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 { group.addTask { await monitor.sampleOnce() } }
        }
        let samples = try #require(await monitor.samples(vm: "serial-vm", last: nil))
        #expect(samples.samples.count >= 1)
        #expect(samples.samples.allSatisfy { $0.cpuCoresInUse >= 0 })
        await connection.close()
    }

    /// A round whose domain collector fails is a gap: no report repeats the previous readings as current, no sample
    /// is added to a VM's ring, and the VMs are not forgotten.
    @Test func failedDomainRoundIsAGapNotStaleData() async throws {
        let connection = try await LibvirtConnection.open("test:///default")
        _ = try await DomainCollectorTests.defineAndStart("gap-vm", on: connection)
        let monitor = try await Self.monitor(connection, interval: .seconds(60))
        await monitor.sampleOnce()
        try await Task.sleep(for: .milliseconds(20))
        await monitor.sampleOnce()
        let fresh = try #require(await monitor.report(), "two good rounds make a report")
        #expect(!fresh.vms.isEmpty)
        let ringBefore = try #require(await monitor.samples(vm: "gap-vm", last: nil)).samples.count

        // Closing the connection makes the domain collector fail from now on.
        await connection.close()
        try await Task.sleep(for: .milliseconds(20))
        await monitor.sampleOnce()
        #expect(await monitor.report() == nil, "a failed round was reported as current")
        #expect(try #require(await monitor.samples(vm: "gap-vm", last: nil)).samples.count == ringBefore)
        #expect(await monitor.inventory().vms.contains { $0.name == "gap-vm" })
    }
}

@Suite struct AgentDaemonAddressTests {
    @Test func wildcardBindIsAdvertisedByHostname() throws {
        let wildcard = try SocketAddress(ipAddress: "0.0.0.0", port: 7701)
        #expect(AgentDaemon.reachableAddress(wildcard, hostname: "h3.lab") == "h3.lab:7701")
        let loopback = try SocketAddress(ipAddress: "127.0.0.1", port: 7801)
        #expect(AgentDaemon.reachableAddress(loopback, hostname: "h3.lab") == "127.0.0.1:7801")
        let v6 = try SocketAddress(ipAddress: "::1", port: 7701)
        #expect(AgentDaemon.reachableAddress(v6, hostname: "h3.lab") == "[::1]:7701")
        #expect(AgentDaemon.reachableAddress(nil, hostname: "h3.lab") == "")
    }
}
